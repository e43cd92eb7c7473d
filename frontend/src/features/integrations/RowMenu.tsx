import * as Menu from "@radix-ui/react-dropdown-menu";
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { errorSentence } from "../../api/client";
import type { Integration, Provider } from "../../api/types";
import { useToast } from "../../components/Toasts";
import { DisconnectDialog } from "./DisconnectDialog";
import { usePatchIntegration, useStartOAuth, useSyncIntegration, useTestIntegration } from "./queries";

interface Props {
  orgId: string;
  integration: Integration;
  provider: Provider | undefined;
}

/** Configure / Test / Sync now / Disable or Enable / Reconnect / Disconnect for one connection. */
export function RowMenu({ orgId, integration, provider }: Props) {
  const toast = useToast();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const test = useTestIntegration(orgId);
  const patch = usePatchIntegration(orgId);
  const sync = useSyncIntegration(orgId);
  const oauth = useStartOAuth(orgId);
  const name = integration.name;
  const page = `/settings/integrations/${integration.provider}`;

  async function run(label: string | null, action: () => Promise<unknown>) {
    try {
      await action();
      if (label) toast(label, "success");
    } catch (e) {
      toast(`${name}: that did not work.`, "error", errorSentence(e));
    }
  }

  function reconnect() {
    const needsForm = integration.auth_type !== "oauth2" || (provider?.fields ?? []).some((f) => f.before_consent);
    if (!needsForm) oauth.mutate({ provider: integration.provider, returnTo: "/settings/integrations" });
    else navigate(`${page}?reconnect=1`);
  }

  return (
    <>
      <Menu.Root>
        <Menu.Trigger className="btn btn-small" aria-label={`Actions for ${name}`}>
          {test.isPending || sync.isPending || patch.isPending || oauth.isPending ? "Working…" : "Actions ▾"}
        </Menu.Trigger>
        <Menu.Portal>
          <Menu.Content className="menu" align="end" sideOffset={4}>
            <Menu.Item className="menu-item" asChild>
              <Link to={page}>Configure</Link>
            </Menu.Item>
            <Menu.Item
              className="menu-item"
              onSelect={() =>
                run(null, async () => {
                  const result = await test.mutateAsync(integration.provider);
                  if (result.ok) toast(`${name} works.`, "success", result.message);
                  else toast(`${name} test failed.`, "error", result.message);
                })
              }
            >
              Test
            </Menu.Item>
            <Menu.Item
              className="menu-item"
              onSelect={() =>
                run(null, async () => {
                  const synced = await sync.mutateAsync(integration.provider);
                  if (synced.usable) toast(`${name} is synced.`, "success");
                  else toast(`${name} did not sync.`, "error", synced.last_error?.message);
                })
              }
            >
              Sync now
            </Menu.Item>
            {integration.enabled ? (
              <Menu.Item
                className="menu-item"
                onSelect={() => run(`${name} is disabled.`, () => patch.mutateAsync({ provider: integration.provider, enabled: false }))}
              >
                Disable
              </Menu.Item>
            ) : (
              <Menu.Item
                className="menu-item"
                onSelect={() => run(`${name} is enabled.`, () => patch.mutateAsync({ provider: integration.provider, enabled: true }))}
              >
                Enable
              </Menu.Item>
            )}
            <Menu.Item className="menu-item" onSelect={reconnect}>
              Reconnect
            </Menu.Item>
            <Menu.Separator className="menu-sep" />
            <Menu.Item className="menu-item menu-danger" onSelect={() => setConfirming(true)}>
              Disconnect
            </Menu.Item>
          </Menu.Content>
        </Menu.Portal>
      </Menu.Root>
      <DisconnectDialog orgId={orgId} integration={integration} open={confirming} onOpenChange={setConfirming} />
    </>
  );
}
