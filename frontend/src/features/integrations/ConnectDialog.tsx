import { useState } from "react";
import type { Field, Integration, Provider } from "../../api/types";
import { ErrorNote } from "../../components/FormField";
import { Modal } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { showProblem } from "../../forms";
import { ConnectionFields, useFieldsForm } from "./ConnectionFields";
import { toChange } from "./fields";
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
      <Modal
        open={open}
        onOpenChange={setOpen}
        title={`Connect ${integration.name}`}
        description={isOAuth ? "You will approve access on the provider's page, then come back here." : integration.description}
      >
        <ConnectForm
          orgId={orgId}
          integration={integration}
          fields={fields}
          returnTo={returnTo}
          onCancel={() => setOpen(false)}
          onConnected={() => {
            setOpen(false);
            onConnected?.();
          }}
        />
      </Modal>
    </>
  );
}

interface FormProps {
  orgId: string;
  integration: Integration;
  fields: Field[];
  returnTo?: string;
  onCancel: () => void;
  onConnected: () => void;
}

/** The provider's settings (OAuth: those asked before consent), then a save or the consent page. */
function ConnectForm({ orgId, integration, fields, returnTo, onCancel, onConnected }: FormProps) {
  const patch = usePatchIntegration(orgId);
  const oauth = useStartOAuth(orgId);
  const form = useFieldsForm(fields, integration);
  const isOAuth = integration.auth_type === "oauth2";
  const busy = patch.isPending || oauth.isPending;

  const submit = form.handleSubmit(async (values) => {
    const { credentials, config } = toChange(fields, values);
    try {
      if (isOAuth) await oauth.mutateAsync({ provider: integration.provider, config, returnTo });
      else {
        await patch.mutateAsync({ provider: integration.provider, credentials, config });
        onConnected();
      }
    } catch (error) {
      showProblem(form.setError, error, fields.map((f) => f.key));
    }
  });

  return (
    <form onSubmit={submit} className="stack" noValidate>
      <ConnectionFields form={form} fields={fields} integration={integration} />
      <ErrorNote error={form.formState.errors.root?.server?.message} />
      <div className="actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label="Connecting…" /> : isOAuth ? "Continue to consent" : "Connect"}
        </button>
      </div>
    </form>
  );
}
