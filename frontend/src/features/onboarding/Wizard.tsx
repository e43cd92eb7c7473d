import { useEffect, useState } from "react";
import { useSearchParams } from "react-router";
import type { Onboarding, StepId, StepPatch } from "../../api/types";
import { ErrorNote } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { stepTitles } from "../../copy";
import { useOrgId } from "../../session";
import { useOAuthLanding, type CallbackResult } from "../integrations/landing";
import { useIntegrations } from "../integrations/queries";
import { resumeScreen, SCREENS, screenDone } from "./progress";
import { BasicInfo, Domains, Features, ImportProducts, InviteUsers, Payments, Review, Shopify } from "./screens";
import { IntegrationsStep } from "./IntegrationsStep";
import { useOnboarding, useSaveStep } from "./queries";

export interface ScreenProps {
  orgId: string;
  progress: Onboarding;
  save: (step: StepId, patch: StepPatch) => Promise<Onboarding>;
  next: () => void;
  landing: CallbackResult | null;
}

export default function Wizard() {
  const orgId = useOrgId();
  const progress = useOnboarding(orgId);
  const [params] = useSearchParams();
  // The OAuth landing (read before it is cleared from the address) stays for the screen to show.
  const [landing] = useState<CallbackResult | null>(() => {
    const provider = params.get("integration");
    const result = params.get("result");
    return provider && result ? { provider, ok: result === "connected", code: params.get("code") } : null;
  });
  const integrations = useIntegrations(orgId);
  useOAuthLanding(integrations.data && Object.fromEntries(integrations.data.map((i) => [i.provider, i.name])));
  const [screen, setScreen] = useState<number | null>(null);
  useEffect(() => {
    if (progress.data && screen === null) setScreen(resumeScreen(progress.data));
  }, [progress.data, screen]);

  const step = useSaveStep(orgId);

  if (progress.isPending || screen === null) return <Spinner label="Loading your setup…" />;
  if (progress.error) return <ErrorNote error={progress.error} />;
  const data = progress.data;
  const ids = SCREENS[screen] ?? [];
  const title = stepTitles[ids[0] ?? ""] ?? "";
  const props: ScreenProps = {
    orgId,
    progress: data,
    save: async (id, patch) => {
      const answer = await step.mutateAsync({ id, patch });
      return { steps: answer.steps, launched_at: answer.launched_at };
    },
    next: () => setScreen(Math.min(screen + 1, SCREENS.length - 1)),
    landing,
  };

  return (
    <div className="wizard">
      <nav aria-label="Onboarding progress">
        <ol className="progress">
          {SCREENS.map((s, i) => (
            <li
              key={s[0]}
              className={i === screen ? "current" : screenDone(data, i) ? "done" : ""}
              aria-current={i === screen ? "step" : undefined}
            >
              <span className="progress-num" aria-hidden="true">
                {screenDone(data, i) ? "✓" : i + 1}
              </span>
              <span>
                {stepTitles[s[0] ?? ""]}
                <span className="visually-hidden">{screenDone(data, i) ? " (done)" : ""}</span>
              </span>
            </li>
          ))}
        </ol>
      </nav>
      <section className="card wizard-body" aria-labelledby="step-title">
        <p className="muted small">
          Step {screen + 1} of {SCREENS.length}
        </p>
        <h1 id="step-title">{title}</h1>
        <Screen index={screen} {...props} />
        {screen > 0 && (
          <button type="button" className="btn back" onClick={() => setScreen(screen - 1)}>
            ← Back
          </button>
        )}
      </section>
    </div>
  );
}

function Screen({ index, ...props }: ScreenProps & { index: number }) {
  switch (index) {
    case 0:
      return <BasicInfo {...props} />;
    case 1:
      return <Shopify {...props} />;
    case 2:
      return <Domains {...props} />;
    case 3:
      return <Payments {...props} />;
    case 4:
      return <IntegrationsStep {...props} />;
    case 5:
      return <Features {...props} />;
    case 6:
      return <ImportProducts {...props} />;
    case 7:
      return <InviteUsers {...props} />;
    default:
      return <Review {...props} />;
  }
}
