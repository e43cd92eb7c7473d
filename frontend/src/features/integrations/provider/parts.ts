import type { Integration, Provider } from "../../../api/types";

/** What every part of the provider page is given. */
export interface PartProps {
  orgId: string;
  integration: Integration;
  /** The provider's registry entry; undefined while it loads. */
  provider: Provider | undefined;
}
