import type { Integration } from "../../api/types";

/** Integrations grouped by category, in the order the server lists them. */
export function groupByCategory(list: Integration[]): [string, Integration[]][] {
  const groups = new Map<string, Integration[]>();
  for (const i of list) groups.set(i.category, [...(groups.get(i.category) ?? []), i]);
  return [...groups.entries()];
}
