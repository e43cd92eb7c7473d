import { useState, type FormEvent } from "react";
import type { Field, Integration, Provider } from "../../api/types";
import { ErrorNote } from "../../components/FormField";
import { Modal } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { FieldInput, readFields } from "./fields";
import { usePatchIntegration, useStartOAuth } from "./queries";

interface Props {
  orgId: string;
  integration: Integration;
  provider: Provider | undefined;
  /** Where OAuth comes back to (a path on this site); the provider's page when unset. */
  returnTo?: string;
  label?: string;
  className?: string;
  onConnected?: () => void;
  /** Open the form at once (a reconnect asked for from another page). */
  autoOpen?: boolean;
}

/** Connect: straight to consent for OAuth without settings, else a form in a modal. */
export function ConnectButton({ orgId, integration, provider, returnTo, label = "Connect", className, onConnected, autoOpen }: Props) {
  const [open, setOpen] = useState(autoOpen ?? false);
  const oauth = useStartOAuth(orgId);
  const isOAuth = integration.auth_type === "oauth2";
  const fields: Field[] = (provider?.fields ?? []).filter((f) => !isOAuth || f.before_consent);
  const busy = oauth.isPending;

  function connect() {
    if (isOAuth && fields.length === 0) oauth.mutate({ provider: integration.provider, returnTo });
    else setOpen(true);
  }
  return (
    <>
      <button
        type="button"
        className={className ?? "btn btn-primary btn-small"}
        onClick={connect}
        disabled={busy}
        aria-label={`${label} ${integration.name}`}
      >
        {busy ? <Spinner label="Connecting…" /> : label}
      </button>
      {!open && oauth.error && <ErrorNote error={oauth.error} />}
      <ConnectForm
        open={open}
        onOpenChange={setOpen}
        orgId={orgId}
        integration={integration}
        fields={fields}
        returnTo={returnTo}
        onConnected={() => {
          setOpen(false);
          onConnected?.();
        }}
      />
    </>
  );
}

interface FormProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  orgId: string;
  integration: Integration;
  fields: Field[];
  returnTo?: string;
  onConnected: () => void;
}

function ConnectForm({ open, onOpenChange, orgId, integration, fields, returnTo, onConnected }: FormProps) {
  const patch = usePatchIntegration(orgId);
  const oauth = useStartOAuth(orgId);
  const isOAuth = integration.auth_type === "oauth2";
  const [error, setError] = useState<unknown>(null);
  const busy = patch.isPending || oauth.isPending;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    const { credentials, config, problem } = readFields(fields, new FormData(event.currentTarget), integration);
    if (problem) return setError(new Error(problem));
    try {
      if (isOAuth) await oauth.mutateAsync({ provider: integration.provider, config, returnTo });
      else {
        await patch.mutateAsync({ provider: integration.provider, credentials, config });
        onConnected();
      }
    } catch (e) {
      setError(e);
    }
  }

  return (
    <Modal
      open={open}
      onOpenChange={onOpenChange}
      title={`Connect ${integration.name}`}
      description={isOAuth ? "You will approve access on the provider's page, then come back here." : integration.description}
    >
      <form onSubmit={submit} className="stack" noValidate>
        {fields.map((field) => (
          <FieldInput key={field.key} field={field} integration={integration} error={error} />
        ))}
        <ErrorNote error={error} />
        <div className="actions">
          <button type="button" className="btn" onClick={() => onOpenChange(false)}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? <Spinner label="Connecting…" /> : isOAuth ? "Continue to consent" : "Connect"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
