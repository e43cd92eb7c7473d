import { useState, type FormEvent, type ReactNode } from "react";
import { useNavigate } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, ApiProblem, unwrap } from "../../api/client";
import type { InvitationIn, StepId } from "../../api/types";
import { ErrorNote, FormField } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { oauthFailureSentence } from "../../copy";
import { useIntegration, useIntegrations, useStartOAuth } from "../integrations/queries";
import { stepOf } from "./progress";
import type { ScreenProps } from "./Wizard";

type Saved = Record<string, unknown>;

function saved(props: ScreenProps, id: StepId): Saved {
  return (stepOf(props.progress, id)?.data ?? {}) as Saved;
}

/** Runs a step change with a busy flag and the problem's sentence on failure. */
function useAction() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  async function run(label: string, action: () => Promise<unknown>) {
    setBusy(label);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  }
  return { busy, error, run, setError };
}

function fieldMessage(error: unknown, field: string) {
  return error instanceof ApiProblem ? error.fieldMessage(field) : undefined;
}

function Buttons({ busy, skip, continueLabel = "Continue", disabled }: { busy: string | null; skip?: () => void; continueLabel?: string; disabled?: boolean }) {
  return (
    <div className="actions">
      {skip && (
        <button type="button" className="btn" onClick={skip} disabled={!!busy}>
          Skip for now
        </button>
      )}
      <button type="submit" className="btn btn-primary" disabled={!!busy || disabled}>
        {busy ? <Spinner label={busy} /> : continueLabel}
      </button>
    </div>
  );
}

export function BasicInfo(props: ScreenProps) {
  const data = saved(props, "basic_info");
  const { busy, error, run } = useAction();
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const get = (k: string) => String(form.get(k) ?? "").trim();
    run("Saving…", async () => {
      await props.save("basic_info", {
        action: "complete",
        data: { name: get("name"), website: get("website"), timezone: get("timezone"), currency: get("currency").toUpperCase() },
      });
      props.next();
    });
  }
  return (
    <form onSubmit={submit} className="stack" noValidate>
      <p className="muted">Tell us about your brand. You can change this later.</p>
      <FormField label="Brand name" name="name" required defaultValue={String(data.name ?? "")} error={fieldMessage(error, "name")} />
      <FormField
        label="Website"
        name="website"
        type="url"
        placeholder="https://www.example.com"
        required
        defaultValue={String(data.website ?? "")}
        error={fieldMessage(error, "website")}
      />
      <div className="field">
        <label htmlFor="tz">Time zone</label>
        <select id="tz" name="timezone" defaultValue={String(data.timezone ?? (zones.includes(here) ? here : "UTC"))}>
          {["UTC", ...zones.filter((z) => z !== "UTC")].map((z) => (
            <option key={z}>{z}</option>
          ))}
        </select>
        {fieldMessage(error, "timezone") && <p className="field-error">{fieldMessage(error, "timezone")}</p>}
      </div>
      <FormField
        label="Currency"
        name="currency"
        required
        maxLength={3}
        hint="Three letters, such as USD or EUR."
        defaultValue={String(data.currency ?? "USD")}
        error={fieldMessage(error, "currency")}
      />
      {!(error instanceof ApiProblem && error.fields.length) && <ErrorNote error={error} />}
      <Buttons busy={busy} />
    </form>
  );
}

export function Shopify(props: ScreenProps) {
  const shopify = useIntegration(props.orgId, "shopify");
  const oauth = useStartOAuth(props.orgId);
  const { busy, error, run, setError } = useAction();
  const [shopError, setShopError] = useState<string>();
  const setup = saved(props, "shopify_setup");
  const connected = shopify.data?.status === "connected";
  const failed = props.landing?.provider === "shopify" && !props.landing.ok ? props.landing : null;

  function connect(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const shop = String(new FormData(event.currentTarget).get("shop") ?? "").trim().toLowerCase();
    if (!/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/.test(shop)) {
      setShopError("Shop domain must look like your-store.myshopify.com (lower-case letters, digits and hyphens).");
      return;
    }
    setShopError(undefined);
    setError(null);
    oauth.mutate({ provider: "shopify", config: { shop }, returnTo: "/onboarding" }, { onError: setError });
  }
  function finish(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    run("Saving…", async () => {
      if (stepOf(props.progress, "connect_shopify")?.status !== "completed") {
        await props.save("connect_shopify", { action: "complete" });
      }
      await props.save("shopify_setup", {
        action: "complete",
        data: {
          sync_products: form.has("sync_products"),
          sync_orders: form.has("sync_orders"),
          sync_customers: form.has("sync_customers"),
        },
      });
      props.next();
    });
  }
  if (shopify.isPending) return <Spinner label="Checking your Shopify connection…" />;
  if (!connected) {
    return (
      <form onSubmit={connect} className="stack" noValidate>
        <p>Plugboard needs your Shopify store: products, orders and checkout come from it. This step is required.</p>
        <p className="muted">You will approve access on Shopify's page in this tab, then come back here.</p>
        {failed && (
          <p role="alert" className="error-note">
            Shopify did not connect. {oauthFailureSentence(failed.code)}
          </p>
        )}
        {shopify.data?.status === "expired" && <p className="error-note">{shopify.data.last_error?.message}</p>}
        <FormField
          label="Shop domain"
          name="shop"
          placeholder="your-store.myshopify.com"
          required
          autoComplete="off"
          defaultValue={String(shopify.data?.config.shop ?? "")}
          error={shopError ?? fieldMessage(error, "shop") ?? fieldMessage(error, "config.shop")}
        />
        <ErrorNote error={fieldMessage(error, "config.shop") ? null : error} />
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={oauth.isPending}>
            {oauth.isPending ? <Spinner label="Connecting…" /> : "Connect Shopify"}
          </button>
        </div>
      </form>
    );
  }
  const checked = (k: string) => setup[k] !== false;
  return (
    <form onSubmit={finish} className="stack">
      <p className="ok-note" role="status">
        ✓ Connected to {shopify.data?.account_name ?? "your store"} ({shopify.data?.config.shop})
      </p>
      <fieldset>
        <legend>What Plugboard keeps in sync with your store</legend>
        {(
          [
            ["sync_products", "Products"],
            ["sync_orders", "Orders"],
            ["sync_customers", "Customers"],
          ] as const
        ).map(([key, label]) => (
          <label key={key} className="check">
            <input type="checkbox" name={key} defaultChecked={checked(key)} /> {label}
          </label>
        ))}
      </fieldset>
      <ErrorNote error={error} />
      <Buttons busy={busy} />
    </form>
  );
}

interface DnsDomain {
  domain: string;
  status: string;
  dns_record: { type: string; name: string; value: string };
}

export function Domains(props: ScreenProps) {
  const { busy, error, run } = useAction();
  const stored = (saved(props, "domains").domains ?? []) as (DnsDomain | string)[];
  const records = stored.filter((d): d is DnsDomain => typeof d === "object");
  const [text, setText] = useState(stored.map((d) => (typeof d === "string" ? d : d.domain)).join("\n"));
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const domains = text.split(/[\s,]+/).map((d) => d.trim()).filter(Boolean);
    run("Saving…", () => props.save("domains", { action: "complete", data: { domains } }));
  }
  const messages = error instanceof ApiProblem ? error.fields.map((f) => f.message) : [];
  return (
    <form onSubmit={submit} className="stack" noValidate>
      <p className="muted">Serve your store from your own domain. Add each host name on its own line.</p>
      <div className="field">
        <label htmlFor="domains">Domain names</label>
        <textarea id="domains" rows={3} value={text} onChange={(e) => setText(e.target.value)} placeholder="shop.example.com" />
      </div>
      {messages.length > 0 ? (
        <ul role="alert" className="error-note">
          {messages.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      ) : (
        <ErrorNote error={error} />
      )}
      {records.length > 0 && (
        <div>
          <h2 className="h3">Add these DNS records at your DNS provider</h2>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">Status</th>
                <th scope="col">Type</th>
                <th scope="col">Name</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {records.map((d) => (
                <tr key={d.domain}>
                  <td>{d.domain}</td>
                  <td>{d.status.replace(/_/g, " ")}</td>
                  <td>{d.dns_record.type}</td>
                  <td>
                    <code>{d.dns_record.name}</code>
                  </td>
                  <td>
                    <code>{d.dns_record.value}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="actions">
        <button type="button" className="btn" onClick={() => run("Skipping…", async () => { await props.save("domains", { action: "skip" }); props.next(); })} disabled={!!busy}>
          Skip for now
        </button>
        <button type="submit" className="btn" disabled={!!busy}>
          {busy === "Saving…" ? <Spinner label="Saving…" /> : "Save domains"}
        </button>
        {records.length > 0 && (
          <button type="button" className="btn btn-primary" onClick={props.next}>
            Continue
          </button>
        )}
      </div>
    </form>
  );
}

export function Payments(props: ScreenProps) {
  const stripe = useIntegration(props.orgId, "stripe");
  const oauth = useStartOAuth(props.orgId);
  const { busy, error, run } = useAction();
  const connected = stripe.data?.status === "connected";
  const failed = props.landing?.provider === "stripe" && !props.landing.ok ? props.landing : null;
  return (
    <form
      className="stack"
      onSubmit={(e) => {
        e.preventDefault();
        run("Saving…", async () => {
          await props.save("payments", { action: "complete" });
          props.next();
        });
      }}
    >
      <p>
        Take payments with Stripe Connect. <span className="badge badge-recommended">Recommended</span>
      </p>
      {failed && (
        <p role="alert" className="error-note">
          Stripe did not connect. {oauthFailureSentence(failed.code)}
        </p>
      )}
      {stripe.isPending && <Spinner label="Checking Stripe…" />}
      {connected ? (
        <p className="ok-note" role="status">
          ✓ Connected to {stripe.data?.account_name ?? "your Stripe account"}
        </p>
      ) : (
        <button
          type="button"
          className="btn btn-primary"
          disabled={oauth.isPending}
          onClick={() => oauth.mutate({ provider: "stripe", returnTo: "/onboarding" })}
        >
          {oauth.isPending ? <Spinner label="Connecting…" /> : "Connect Stripe"}
        </button>
      )}
      <ErrorNote error={error ?? oauth.error} />
      <div className="actions">
        <button
          type="button"
          className="btn"
          disabled={!!busy}
          onClick={() =>
            run("Skipping…", async () => {
              await props.save("payments", { action: "skip" });
              props.next();
            })
          }
        >
          Skip for now
        </button>
        <button type="submit" className="btn btn-primary" disabled={!!busy || !connected}>
          {busy === "Saving…" ? <Spinner label="Saving…" /> : "Continue"}
        </button>
      </div>
    </form>
  );
}

export function Features(props: ScreenProps) {
  const { busy, error, run } = useAction();
  const flags = useQuery({
    queryKey: ["feature-flags", props.orgId],
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/feature-flags", { params: { path: { org_id: props.orgId } } })),
  });
  const integrations = useIntegrations(props.orgId);
  const connected = new Set((integrations.data ?? []).filter((i) => i.status === "connected").map((i) => i.provider));
  const nameOf = (id: string) => integrations.data?.find((i) => i.provider === id)?.name ?? id;
  const blocked = (needs: string | null | undefined) => !!needs && !connected.has(needs);
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    // Only what the brand changed; a flag whose integration is missing cannot be turned on yet.
    const choices = Object.fromEntries(
      (flags.data?.data ?? [])
        .filter((f) => form.has(f.key) !== f.enabled && !(form.has(f.key) && blocked(f.requires_connection)))
        .map((f) => [f.key, form.has(f.key)]),
    );
    run("Saving…", async () => {
      await props.save("features", { action: "complete", data: { flags: choices } });
      props.next();
    });
  }
  if (flags.isPending || integrations.isPending) return <Spinner label="Loading features…" />;
  return (
    <form onSubmit={submit} className="stack">
      <p className="muted">Choose what your store uses. A feature that needs an integration can be turned on once it is connected.</p>
      <fieldset>
        <legend>Features</legend>
        {(flags.data?.data ?? []).map((f) => {
          const waiting = blocked(f.requires_connection);
          return (
            <label key={f.key} className="check">
              <input type="checkbox" name={f.key} defaultChecked={f.enabled && !waiting} disabled={waiting} /> <strong>{f.name}</strong>
              <span className="muted small">
                {" "}
                — {f.description}
                {waiting && f.requires_connection && ` Connect ${nameOf(f.requires_connection)} first.`}
              </span>
            </label>
          );
        })}
      </fieldset>
      <ErrorNote error={error ?? flags.error} />
      <Buttons busy={busy} />
    </form>
  );
}

export function ImportProducts(props: ScreenProps) {
  const { busy, error, run } = useAction();
  const data = saved(props, "import_products");
  const count = typeof data.product_count === "number" ? data.product_count : null;
  return (
    <div className="stack">
      <p>Bring your Shopify products into Plugboard now, or later from Settings.</p>
      {count !== null && (
        <p className="ok-note" role="status">
          ✓ {count} {count === 1 ? "product" : "products"} found in your store.
        </p>
      )}
      <ErrorNote error={error} />
      <div className="actions">
        <button
          type="button"
          className="btn"
          disabled={!!busy}
          onClick={() =>
            run("Saving…", async () => {
              await props.save("import_products", { action: "complete", data: { choice: "later" } });
              props.next();
            })
          }
        >
          Import later
        </button>
        <button
          type="button"
          className="btn btn-primary"
          disabled={!!busy}
          onClick={() => run("Counting your products…", () => props.save("import_products", { action: "complete", data: { choice: "now" } }))}
        >
          {busy === "Counting your products…" ? <Spinner label={busy} /> : "Import products now"}
        </button>
        {count !== null && (
          <button type="button" className="btn btn-primary" onClick={props.next}>
            Continue
          </button>
        )}
      </div>
    </div>
  );
}

export function InviteUsers(props: ScreenProps) {
  const { busy, error, run } = useAction();
  const [rows, setRows] = useState<InvitationIn[]>([{ email: "", role: "member" }]);
  const invited = (saved(props, "invite_users").invited ?? []) as InvitationIn[];
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const invitations = rows.filter((r) => r.email.trim());
    run("Sending invitations…", async () => {
      await props.save("invite_users", { action: "complete", data: { invitations } });
      props.next();
    });
  }
  return (
    <form onSubmit={submit} className="stack" noValidate>
      <p className="muted">Invite the people who run the store with you. They get a link to join.</p>
      {invited.length > 0 && <p className="muted">Already invited: {invited.map((i) => i.email).join(", ")}</p>}
      {rows.map((row, n) => (
        <div className="inline-row" key={n}>
          <FormField
            label={`E-mail ${n + 1}`}
            type="email"
            value={row.email}
            onChange={(e) => setRows(rows.map((r, i) => (i === n ? { ...r, email: e.target.value } : r)))}
            error={fieldMessage(error, `invitations[${n}].email`)}
          />
          <div className="field">
            <label htmlFor={`role-${n}`}>Role {n + 1}</label>
            <select
              id={`role-${n}`}
              value={row.role}
              onChange={(e) => setRows(rows.map((r, i) => (i === n ? { ...r, role: e.target.value as InvitationIn["role"] } : r)))}
            >
              <option value="member">Member</option>
              <option value="admin">Admin</option>
            </select>
          </div>
        </div>
      ))}
      <button type="button" className="btn btn-small" onClick={() => setRows([...rows, { email: "", role: "member" }])}>
        + Add another
      </button>
      <ErrorNote error={error} />
      <Buttons
        busy={busy}
        continueLabel="Send invitations"
        skip={() =>
          run("Skipping…", async () => {
            await props.save("invite_users", { action: "skip" });
            props.next();
          })
        }
      />
    </form>
  );
}

interface Summary {
  connected?: { name: string }[];
  failed?: { name: string }[];
  skipped?: { name: string }[];
}

export function Review(props: ScreenProps) {
  const navigate = useNavigate();
  const { busy, error, run } = useAction();
  const summary = (saved(props, "review_launch").summary ?? null) as Summary | null;
  const rows: [string, ReactNode][] = props.progress.steps
    .filter((s) => s.id !== "review_launch")
    .map((s) => [s.id, s.status]);
  return (
    <div className="stack">
      <p>Check your setup, then launch. Anything skipped can be finished later from Settings.</p>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([id, status]) => (
            <tr key={id}>
              <td>{id.replace(/_/g, " ")}</td>
              <td>{status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {summary && (
        <p>
          Integrations: {summary.connected?.length ?? 0} connected, {summary.failed?.length ?? 0} need attention,{" "}
          {summary.skipped?.length ?? 0} skipped.
        </p>
      )}
      {props.progress.launched_at && <p className="ok-note">✓ Launched.</p>}
      <ErrorNote error={error} />
      <div className="actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={!!busy}
          onClick={() =>
            run("Launching…", async () => {
              await props.save("review_launch", { action: "complete" });
              navigate("/settings/integrations");
            })
          }
        >
          {busy ? <Spinner label={busy} /> : "Launch"}
        </button>
      </div>
    </div>
  );
}
