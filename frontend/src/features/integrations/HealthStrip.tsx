import type { EventItem } from "../../api/types";
import { dateTime } from "../../time";

const CHECKS = new Set(["test", "health_check", "connect", "refresh"]);

/** The recent checks as a row of green / red marks, oldest on the left. */
export function HealthStrip({ events }: { events: EventItem[] }) {
  const checks = events.filter((e) => CHECKS.has(e.action)).slice(0, 30).reverse();
  if (checks.length === 0) return <p className="muted">No checks yet: run a test to see one here.</p>;
  const failed = checks.filter((c) => !c.success).length;
  return (
    <figure className="health">
      <div className="strip" role="img" aria-label={`Last ${checks.length} checks: ${checks.length - failed} passed, ${failed} failed.`}>
        {checks.map((c) => (
          <span
            key={c.id}
            className={c.success ? "tick tick-ok" : "tick tick-bad"}
            title={`${dateTime(c.created_at)} · ${c.action.replace(/_/g, " ")} · ${c.success ? "passed" : "failed"}: ${c.message}`}
          />
        ))}
      </div>
      <figcaption className="muted small">
        Last {checks.length} checks, oldest first: {checks.length - failed} passed, {failed} failed.
      </figcaption>
    </figure>
  );
}
