// The OAuth callback's way back: `?integration=…&result=…&code=…` on the page it returns to.
import { useEffect } from "react";
import { useSearchParams } from "react-router";
import { useToast } from "../../components/Toasts";
import { oauthFailureSentence } from "../../copy";

export interface CallbackResult {
  provider: string;
  ok: boolean;
  code: string | null;
}

/** Reads the callback's outcome, toasts it once (when the providers' names are known;
 * `undefined` waits for them), and clears it from the address. */
export function useOAuthLanding(names: Record<string, string> | undefined): CallbackResult | null {
  const [params, setParams] = useSearchParams();
  const toast = useToast();
  const provider = params.get("integration");
  const result = params.get("result");
  const code = params.get("code");
  useEffect(() => {
    if (!provider || !result || !names) return;
    const name = names[provider] ?? provider;
    if (result === "connected") toast(`${name} is connected.`, "success");
    else toast(`${name} did not connect.`, "error", oauthFailureSentence(code));
    const next = new URLSearchParams(params);
    ["integration", "result", "code"].forEach((k) => next.delete(k));
    setParams(next, { replace: true });
    // Toast once per landing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [provider, result, code, names === undefined]);
  return provider && result ? { provider, ok: result === "connected", code } : null;
}
