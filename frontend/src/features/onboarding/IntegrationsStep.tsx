import { useMemo, useState } from "react";
import { Logo } from "../../components/Logo";
import { ErrorNote } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { categoryText, integrationsBanner, oauthFailureSentence } from "../../copy";
import { ConnectButton } from "../integrations/ConnectDialog";
import { hasPickers, ResourcePickers } from "../integrations/provider/ResourcesCard";
import { groupByCategory } from "../integrations/catalog";
import { useIntegrations, useProviders } from "../integrations/queries";
import { connectionState } from "../integrations/status";
import type { ScreenProps } from "./Wizard";

/** Providers this step offers: what a brand connects itself, beyond Shopify and Stripe (their own steps). */
const OWN_STEPS = new Set(["shopify", "stripe"]);

export function IntegrationsStep(props: ScreenProps) {
  const integrations = useIntegrations(props.orgId);
  const providers = useProviders();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const byId = useMemo(() => new Map((providers.data ?? []).map((p) => [p.id, p])), [providers.data]);
  const offered = (integrations.data ?? []).filter(
    (i) => !OWN_STEPS.has(i.provider) && byId.get(i.provider)?.level !== "platform" && i.onboarding !== "required",
  );
  const groups = groupByCategory(offered);

  async function finish(action: "skip" | "complete", label: string) {
    setBusy(label);
    setError(null);
    try {
      await props.save("integrations", { action });
      props.next();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="stack">
      <div className="info-banner" role="note">
        <p>{integrationsBanner}</p>
        <button type="button" className="btn btn-primary" onClick={() => finish("skip", "Skipping…")} disabled={!!busy}>
          Skip for now
        </button>
      </div>
      {(integrations.isPending || providers.isPending) && <Spinner label="Loading integrations…" />}
      {groups.map(([key, items]) => (
        <section key={key} aria-labelledby={`step5-${key}`}>
          <h2 id={`step5-${key}`} className="h3">
            {categoryText[key]?.title ?? items[0]?.category_label}
          </h2>
          <ul className="cards">
            {items.map((i) => {
              const { live, needsAttention } = connectionState(i);
              const connected = live && !needsAttention;
              const failed = props.landing?.provider === i.provider && !props.landing.ok;
              return (
                <li key={i.provider} className={`int-card${connected ? " int-card-connected" : ""}`} aria-label={i.name}>
                  <div className="int-card-head">
                    <Logo name={i.name} />
                    <strong>{i.name}</strong>
                    {i.onboarding === "recommended" && !connected && <span className="badge badge-recommended">Recommended</span>}
                  </div>
                  <p className="muted small">{i.description}</p>
                  {connected ? (
                    <p className="ok-note small" role="status">
                      ✓ Connected{i.account_name ? ` to ${i.account_name}` : ""}
                    </p>
                  ) : i.usable && hasPickers({ orgId: props.orgId, integration: i, provider: byId.get(i.provider) }) ? (
                    // Connected, with a choice still to make: its picker, right here.
                    <ResourcePickers orgId={props.orgId} integration={i} provider={byId.get(i.provider)} />
                  ) : (
                    <ConnectButton orgId={props.orgId} integration={i} provider={byId.get(i.provider)} returnTo="/onboarding" />
                  )}
                  {failed && (
                    <p className="field-error small" role="alert">
                      {oauthFailureSentence(props.landing?.code)}
                    </p>
                  )}
                  {needsAttention && i.last_error && <p className="field-error small">{i.last_error.message}</p>}
                </li>
              );
            })}
          </ul>
        </section>
      ))}
      <ErrorNote error={error ?? integrations.error} />
      <div className="actions">
        <button type="button" className="btn" onClick={() => finish("skip", "Skipping…")} disabled={!!busy}>
          Skip all integrations
        </button>
        <button type="button" className="btn btn-primary" onClick={() => finish("complete", "Saving…")} disabled={!!busy}>
          {busy === "Saving…" ? <Spinner label="Saving…" /> : "Continue to features"}
        </button>
      </div>
    </div>
  );
}
