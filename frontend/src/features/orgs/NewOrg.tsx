import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { ErrorNote, FormField } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { useSession } from "../../session";
import { fieldError } from "../auth/Login";

export default function NewOrg() {
  const { chooseOrg, me } = useSession();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get("name"));
    setBusy(true);
    setError(null);
    try {
      const org = await unwrap(api.POST("/api/v1/orgs", { body: { name } }));
      await queryClient.refetchQueries({ queryKey: ["me"] });
      chooseOrg(org.id);
      navigate("/onboarding");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="narrow">
      <h1>{me?.memberships.length ? "New organization" : "Create your organization"}</h1>
      <p className="muted">An organization holds your brand's integrations, members and keys.</p>
      <form onSubmit={submit} className="card stack" noValidate>
        <FormField label="Organization name" name="name" required error={fieldError(error, "name")} />
        <ErrorNote error={fieldError(error, "name") ? null : error} />
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? <Spinner label="Creating…" /> : "Create organization"}
        </button>
      </form>
    </div>
  );
}
