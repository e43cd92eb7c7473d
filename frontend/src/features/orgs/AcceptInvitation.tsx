import { useNavigate, useParams } from "react-router";
import { ErrorNote } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { useSession } from "../../session";
import { useAcceptInvitation } from "./queries";

export default function AcceptInvitation() {
  const { token = "" } = useParams();
  const { chooseOrg } = useSession();
  const navigate = useNavigate();
  const accept = useAcceptInvitation();
  return (
    <div className="narrow">
      <h1>Join an organization</h1>
      <p>You were invited to join an organization on Plugboard.</p>
      <ErrorNote error={accept.error} />
      <button
        type="button"
        className="btn btn-primary"
        onClick={() =>
          accept.mutate(token, {
            onSuccess: (joined) => {
              chooseOrg(joined.org_id);
              navigate("/settings/integrations");
            },
          })
        }
        disabled={accept.isPending}
      >
        {accept.isPending ? <Spinner label="Joining…" /> : "Accept invitation"}
      </button>
    </div>
  );
}
