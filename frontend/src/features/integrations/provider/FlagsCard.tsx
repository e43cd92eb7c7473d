import { Link } from "react-router";
import { useFeatureFlags } from "../../settings/queries";
import type { PartProps } from "./parts";

/** The feature flags that follow this connection. */
export function FlagsCard({ orgId, integration: i, provider }: PartProps) {
  const flags = useFeatureFlags(orgId, (all) => all.filter((f) => f.requires_connection === i.provider || f.key === provider?.feature_flag));
  return (
    <section className="card" aria-labelledby="flags-title">
      <h2 id="flags-title">Feature flags it drives</h2>
      {flags.data?.length ? (
        <ul>
          {flags.data.map((f) => (
            <li key={f.key}>
              <strong>{f.name}</strong> — {f.effective ? "on" : "off"}
              <span className="muted small"> ({f.description})</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No feature flag depends on this integration.</p>
      )}
      <Link to="/settings/feature-flags">Manage feature flags</Link>
    </section>
  );
}
