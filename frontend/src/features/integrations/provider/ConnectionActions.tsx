import * as Switch from "@radix-ui/react-switch";
import { useState } from "react";
import { useSearchParams } from "react-router";
import { errorSentence } from "../../../api/client";
import type { TestResult } from "../../../api/types";
import { ErrorNote } from "../../../components/FormField";
import { Spinner } from "../../../components/Spinner";
import { useToast } from "../../../components/Toasts";
import { ConnectButton } from "../ConnectDialog";
import { DisconnectDialog } from "../DisconnectDialog";
import { usePatchIntegration, useTestIntegration } from "../queries";
import { connectionState } from "../status";
import type { PartProps } from "./parts";

/** Enable switch, Test with its result, Connect or Reconnect, Disconnect. */
export function ConnectionActions({ orgId, integration: i, provider }: PartProps) {
  const [params] = useSearchParams();
  const patch = usePatchIntegration(orgId);
  const test = useTestIntegration(orgId);
  const toast = useToast();
  const [confirming, setConfirming] = useState(false);
  const [tested, setTested] = useState<TestResult | null>(null);
  const { live } = connectionState(i);

  function runTest() {
    setTested(null);
    test.mutate(i.provider, { onSuccess: setTested });
  }

  return (
    <>
      <div className="actions wrap">
        {live && (
          <label className="switch-row">
            <Switch.Root
              className="switch"
              checked={i.enabled}
              aria-label={`${i.name} enabled`}
              disabled={patch.isPending}
              onCheckedChange={(enabled) =>
                patch.mutate(
                  { provider: i.provider, enabled },
                  { onError: (e) => toast(`${i.name}: that did not work.`, "error", errorSentence(e)) },
                )
              }
            >
              <Switch.Thumb className="switch-thumb" />
            </Switch.Root>
            {i.enabled ? "Enabled" : "Disabled"}
          </label>
        )}
        {live && (
          <button type="button" className="btn" disabled={test.isPending} onClick={runTest}>
            {test.isPending ? <Spinner label="Testing…" /> : "Test connection"}
          </button>
        )}
        <ConnectButton
          orgId={orgId}
          integration={i}
          provider={provider}
          label={live ? "Reconnect" : "Connect"}
          className={live ? "btn" : "btn btn-primary"}
          returnTo={`/settings/integrations/${i.provider}`}
          autoOpen={params.get("reconnect") === "1"}
        />
        {live && (
          <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
            Disconnect
          </button>
        )}
      </div>
      {tested && (
        <p role="status" className={tested.ok ? "ok-note" : "error-note"}>
          {tested.ok ? "Test passed: " : "Test failed: "}
          {tested.message}
        </p>
      )}
      <ErrorNote error={test.error} />
      <DisconnectDialog orgId={orgId} integration={i} open={confirming} onOpenChange={setConfirming} />
    </>
  );
}
