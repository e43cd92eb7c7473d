// "Sign in with Microsoft" / "Sign in with Google": plain links, so the whole sign-in is a
// same-tab redirect that comes back signed in. Shown only for the providers the server offers.
import { useSsoProviders } from "./queries";

export function SsoButtons({ next }: { next?: string }) {
  const providers = useSsoProviders().data?.providers ?? [];
  if (providers.length === 0) return null;
  const query = next && next !== "/" ? `?next=${encodeURIComponent(next)}` : "";
  return (
    <div className="stack sso-buttons" aria-label="Other ways to sign in" role="group">
      {providers.map((p) => (
        <a key={p.id} className="btn" href={`${p.start_url}${query}`}>
          Sign in with {p.name}
        </a>
      ))}
    </div>
  );
}
