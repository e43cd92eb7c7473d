import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { sandboxBanner } from "../copy";

export function SandboxBanner() {
  const health = useQuery({
    queryKey: ["healthz"],
    queryFn: () => unwrap(api.GET("/healthz")),
    staleTime: Infinity,
  });
  if (!health.data?.sandbox) return null;
  return (
    <div className="sandbox-banner" role="region" aria-label="Provider sandbox">
      <strong>Sandbox mode.</strong> {sandboxBanner}{" "}
      <a href="/sandbox">Open the sandbox control page</a>
    </div>
  );
}
