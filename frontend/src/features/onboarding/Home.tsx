import { Navigate } from "react-router";
import { Spinner } from "../../components/Spinner";
import { useOrgId } from "../../session";
import { useOnboarding } from "./queries";

/** The brand's first stop: the wizard until it has launched, then the hub. */
export default function Home() {
  const onboarding = useOnboarding(useOrgId());
  if (onboarding.isPending) return <Spinner label="Loading…" />;
  return <Navigate to={onboarding.data?.launched_at ? "/settings/integrations" : "/onboarding"} replace />;
}
