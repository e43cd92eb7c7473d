import { errorSentence } from "../../api/client";
import type { PrivacyRequest } from "../../api/types";
import { ErrorNote } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { useToast } from "../../components/Toasts";
import { privacyKindText } from "../../copy";
import { useOrgId, useSession } from "../../session";
import { dateTime } from "../../time";
import { useCompletePrivacyRequest, usePrivacyRequests } from "./queries";

/** The privacy requests providers sent about this brand's customers or shop, for its admins. */
export default function PrivacyRequests() {
  const orgId = useOrgId();
  const { isAdmin } = useSession();
  const requests = usePrivacyRequests(orgId, isAdmin);
  if (!isAdmin) {
    return (
      <div>
        <h1>Privacy requests</h1>
        <p>Only admins and owners of this organization can see privacy requests.</p>
      </div>
    );
  }
  return (
    <div>
      <h1>Privacy requests</h1>
      <p className="muted">
        What a provider asks on behalf of your customers or shop. Answer each by its due date (30 days after it came), then mark it done.
      </p>
      {requests.isPending && <Spinner label="Loading…" />}
      <ErrorNote error={requests.error} />
      {requests.data && requests.data.length === 0 && <p className="muted">No privacy requests have come.</p>}
      {requests.data && requests.data.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col">Customer and orders</th>
              <th scope="col">Received</th>
              <th scope="col">Due</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {requests.data.map((r) => (
              <RequestRow key={r.id} request={r} orgId={orgId} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** Who and what a request names, in words. */
function subject(request: PrivacyRequest): string {
  const details = (request.details ?? {}) as {
    customer?: { id?: number | string; email?: string } | null;
    orders_requested?: unknown[] | null;
    orders_to_redact?: unknown[] | null;
  };
  const parts: string[] = [];
  const customer = details.customer;
  if (customer) parts.push(customer.email ? `${customer.email} (customer ${customer.id ?? "?"})` : `customer ${customer.id ?? "?"}`);
  const orders = details.orders_requested ?? details.orders_to_redact;
  if (orders && orders.length > 0) parts.push(`orders ${orders.join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : "—";
}

function RequestRow({ request, orgId }: { request: PrivacyRequest; orgId: string }) {
  const complete = useCompletePrivacyRequest(orgId);
  const toast = useToast();
  const text = privacyKindText[request.kind];
  return (
    <tr>
      <td>
        <strong>{text?.title ?? request.kind}</strong>
        <div className="muted small">
          {request.provider} · {text?.todo}
        </div>
      </td>
      <td>{subject(request)}</td>
      <td>{dateTime(request.received_at)}</td>
      <td>{dateTime(request.due_at)}</td>
      <td>
        {request.done_at ? (
          <span className="badge badge-connected">Done {dateTime(request.done_at)}</span>
        ) : (
          <button
            type="button"
            className="btn btn-small"
            disabled={complete.isPending}
            aria-label={`Mark the ${text?.title ?? request.kind} received ${dateTime(request.received_at)} done`}
            onClick={() => complete.mutate(request.id, { onError: (e) => toast("The request was not marked done.", "error", errorSentence(e)) })}
          >
            {complete.isPending ? <Spinner label="Saving…" /> : "Mark done"}
          </button>
        )}
      </td>
    </tr>
  );
}
