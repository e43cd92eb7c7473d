import { statusText } from "../copy";

/** Status in words and colour. */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{statusText[status] ?? status}</span>;
}
