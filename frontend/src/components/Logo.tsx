/** The provider's initials on a tinted square (no logos are fetched from anywhere). */
export function Logo({ name }: { name: string }) {
  const initials = name
    .split(/[\s-]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]?.toUpperCase())
    .join("");
  let hue = 0;
  for (const c of name) hue = (hue * 31 + c.charCodeAt(0)) % 360;
  return (
    <span className="logo" style={{ background: `hsl(${hue} 45% 32%)` }} aria-hidden="true">
      {initials}
    </span>
  );
}
