import { Spinner } from "../../../components/Spinner";
import { dateTime } from "../../../time";
import { useIntegrationEvents } from "../queries";
import type { PartProps } from "./parts";

/** Everything that happened to the connection, newest first, a page at a time. */
export function HistoryCard({ orgId, integration: i }: PartProps) {
  const events = useIntegrationEvents(orgId, i.provider);
  const history = events.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <section className="card" aria-labelledby="history-title">
      <h2 id="history-title">Event history</h2>
      {events.isPending && <Spinner label="Loading history…" />}
      {history.length === 0 && events.isSuccess && <p className="muted">Nothing has happened yet.</p>}
      {history.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Result</th>
              <th scope="col">What happened</th>
            </tr>
          </thead>
          <tbody>
            {history.map((e) => (
              <tr key={e.id}>
                <td>{dateTime(e.created_at)}</td>
                <td>{e.action.replace(/_/g, " ")}</td>
                <td>{e.success ? "OK" : "Failed"}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {events.hasNextPage && (
        <button type="button" className="btn" onClick={() => events.fetchNextPage()} disabled={events.isFetchingNextPage}>
          {events.isFetchingNextPage ? <Spinner label="Loading…" /> : "Older events"}
        </button>
      )}
    </section>
  );
}
