import { useState } from "react";
import type { Provider } from "../../../api/types";
import { ErrorNote } from "../../../components/FormField";
import { Spinner } from "../../../components/Spinner";
import { useSession } from "../../../session";
import { usePatchIntegration, useResources } from "../queries";
import type { PartProps } from "./parts";

type Kind = NonNullable<Provider["resources"]>[number];

/** What the connection is pointed at (its ad account, channel…): the current choice, and for
 * admins a searchable, paged picker of what the connection can reach. */
export function ResourcesCard(props: PartProps) {
  const { integration: i, provider } = props;
  if (!hasPickers(props)) return null;
  return (
    <section className="card" aria-labelledby="resources-title">
      <h2 id="resources-title">What {i.name} is pointed at</h2>
      <ResourcePickers {...props} provider={provider} />
    </section>
  );
}

/** Whether the connection has something to choose and can list it: once it is connected (a
 * failing one too, to fix a lost choice). */
export function hasPickers({ integration: i, provider }: PartProps): boolean {
  return (provider?.resources ?? []).length > 0 && (i.usable || i.status === "error");
}

/** One picker per kind of thing the provider's connection can be pointed at; a kind listed
 * under another's choice (a pixel under its ad account) waits until that one is chosen. */
export function ResourcePickers(props: PartProps) {
  const kinds = props.provider?.resources ?? [];
  return kinds.map((kind) => {
    const parent = kinds.find((k) => k.kind === kind.depends_on);
    return <Picker key={kind.kind} {...props} kind={kind} parent={parent} dependents={kinds.filter((k) => k.depends_on === kind.kind)} />;
  });
}

function Picker({
  orgId,
  integration: i,
  kind,
  parent,
  dependents,
}: PartProps & { kind: Kind; parent: Kind | undefined; dependents: Kind[] }) {
  const { isAdmin } = useSession();
  const current = i.config[kind.setting] ?? "";
  const parentValue = parent ? (i.config[parent.setting] ?? "") : "";
  const waiting = parent !== undefined && !parentValue;
  const [open, setOpen] = useState(kind.required && !current);
  const [search, setSearch] = useState("");
  const [q, setQ] = useState("");
  const [picked, setPicked] = useState(current);
  const listing = useResources(orgId, i.provider, kind.kind, q, parentValue, open && !waiting);
  const save = usePatchIntegration(orgId);
  const items = listing.data?.pages.flatMap((p) => p.data) ?? [];
  const label = kind.label.toLowerCase();
  const group = `pick-${kind.kind}`;
  if (waiting && parent) {
    return (
      <div className="stack">
        <p>
          {kind.label}: <span className="muted">choose the {parent.label.toLowerCase()} first; its {label}s are listed once it is chosen.</span>
        </p>
      </div>
    );
  }
  // Choosing anew clears what was chosen under the old choice (its pixel, its stream).
  const cleared = Object.fromEntries(dependents.filter((c) => i.config[c.setting]).map((c) => [c.setting, null]));
  return (
    <div className="stack">
      <p>
        {kind.label}: {current ? <code>{current}</code> : <span className="muted">none chosen{kind.required ? " (required)" : ""}</span>}
      </p>
      {kind.note && <p className="muted small">{kind.note}</p>}
      {isAdmin && !open && (
        <button type="button" className="btn" onClick={() => setOpen(true)}>
          {current ? `Choose another ${label}` : `Choose the ${label}`}
        </button>
      )}
      {isAdmin && open && (
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            if (picked && picked !== current) save.mutate({ provider: i.provider, config: { ...cleared, [kind.setting]: picked } });
          }}
        >
          <label>
            Search {label}s
            <input
              type="search"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") {
                  e.preventDefault();
                  setQ(search.trim());
                }
              }}
              onBlur={() => setQ(search.trim())}
            />
          </label>
          {listing.isPending && <Spinner label={`Loading ${label}s…`} />}
          <ErrorNote error={listing.error ?? save.error} />
          {listing.isSuccess && items.length === 0 && (
            <p className="muted">
              {q
                ? `No ${label} matches “${q}”.`
                : `This ${i.name} login reaches no ${label}s. Share one with it in ${i.name}, or reconnect with a login that has access, then look again.`}
            </p>
          )}
          {items.length > 0 && (
            <fieldset>
              <legend>{kind.label}s this connection can use</legend>
              {items.map((item) => (
                <label key={item.id} className="check">
                  <input type="radio" name={group} value={item.id} checked={picked === item.id} onChange={() => setPicked(item.id)} />{" "}
                  <strong>{item.name ?? item.id}</strong> <span className="muted small">({item.id})</span>
                  {item.detail && <span className="muted small"> · {item.detail}</span>}
                </label>
              ))}
            </fieldset>
          )}
          {listing.hasNextPage && (
            <button type="button" className="btn" onClick={() => listing.fetchNextPage()} disabled={listing.isFetchingNextPage}>
              {listing.isFetchingNextPage ? <Spinner label="Loading…" /> : "Show more"}
            </button>
          )}
          <div className="inline-row">
            <button type="submit" className="btn btn-primary" disabled={!picked || picked === current || save.isPending}>
              {save.isPending ? "Saving…" : `Use this ${label}`}
            </button>
            {current && (
              <button type="button" className="btn" onClick={() => setOpen(false)}>
                Cancel
              </button>
            )}
          </div>
        </form>
      )}
    </div>
  );
}
