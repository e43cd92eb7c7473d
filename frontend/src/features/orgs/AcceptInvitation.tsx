import { useState } from "react";
import { useNavigate, useParams } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { ErrorNote } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { useSession } from "../../session";

export default function AcceptInvitation() {
  const { token = "" } = useParams();
  const { chooseOrg } = useSession();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function accept() {
    setBusy(true);
    setError(null);
    try {
      const joined = await unwrap(api.POST("/api/v1/invitations/{token}/accept", { params: { path: { token } } }));
      await queryClient.refetchQueries({ queryKey: ["me"] });
      chooseOrg(joined.org_id);
      navigate("/settings/integrations");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="narrow">
      <h1>Join an organization</h1>
      <p>You were invited to join an organization on Plugboard.</p>
      <ErrorNote error={error} />
      <button type="button" className="btn btn-primary" onClick={accept} disabled={busy}>
        {busy ? <Spinner label="Joining…" /> : "Accept invitation"}
      </button>
    </div>
  );
}
