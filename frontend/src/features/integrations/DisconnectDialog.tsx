import { errorSentence } from "../../api/client";
import type { Integration } from "../../api/types";
import { ConfirmDialog } from "../../components/Modal";
import { useToast } from "../../components/Toasts";
import { useDisconnect } from "./queries";

interface Props {
  orgId: string;
  integration: Integration;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}

/** Disconnect, asked first; the hub's menu and the provider page both open this one. */
export function DisconnectDialog({ orgId, integration, open, onOpenChange }: Props) {
  const disconnect = useDisconnect(orgId);
  const toast = useToast();
  const name = integration.name;

  async function confirm() {
    try {
      // mutateAsync, not mutate: in the hub the row (and this dialog) goes away with the answer.
      await disconnect.mutateAsync(integration.provider);
      toast(`${name} is disconnected.`, "success");
      onOpenChange(false);
    } catch (error) {
      toast(`${name}: that did not work.`, "error", errorSentence(error));
    }
  }

  return (
    <ConfirmDialog
      open={open}
      onOpenChange={onOpenChange}
      title={`Disconnect ${name}?`}
      description="Its credentials are deleted and the features it drives stop. The history stays; you can connect again later."
      confirmLabel="Disconnect"
      busy={disconnect.isPending}
      onConfirm={confirm}
    />
  );
}
