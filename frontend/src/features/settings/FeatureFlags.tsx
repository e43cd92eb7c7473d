import * as Switch from "@radix-ui/react-switch";
import { errorSentence } from "../../api/client";
import { ErrorNote } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { useToast } from "../../components/Toasts";
import { useOrgId, useSession } from "../../session";
import { useFeatureFlags, useSetFlag } from "./queries";

export default function FeatureFlags() {
  const orgId = useOrgId();
  const { isAdmin } = useSession();
  const toast = useToast();
  const flags = useFeatureFlags(orgId);
  const update = useSetFlag(orgId);
  return (
    <div>
      <h1>Feature flags</h1>
      <p className="muted">Turn features on for this organization. A feature that needs an integration is on only once it is connected.</p>
      {flags.isPending && <Spinner label="Loading…" />}
      <ErrorNote error={flags.error} />
      <ul className="card rows">
        {(flags.data ?? []).map((f) => (
          <li key={f.key} className="row">
            <div className="row-main">
              <strong id={`flag-${f.key}`}>{f.name}</strong>
              <p className="muted small">
                {f.description}
                {f.requires_connection && ` Needs ${f.requires_connection} connected.`}
              </p>
            </div>
            <div className="row-side">
              <span className={`badge ${f.effective ? "badge-connected" : "badge-not_connected"}`}>{f.effective ? "On" : "Off"}</span>
              {isAdmin && (
                <Switch.Root
                  className="switch"
                  checked={f.enabled}
                  aria-labelledby={`flag-${f.key}`}
                  disabled={update.isPending}
                  onCheckedChange={(enabled) =>
                    update.mutate({ key: f.key, enabled }, { onError: (e) => toast("The flag did not change.", "error", errorSentence(e)) })
                  }
                >
                  <Switch.Thumb className="switch-thumb" />
                </Switch.Root>
              )}
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
