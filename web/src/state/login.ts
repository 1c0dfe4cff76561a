/** Where the login page sends a user afterwards (`?next=`), kept to paths inside this app. */

export const DEFAULT_NEXT = "/analysis";

/** Whether `text` holds a control character (U+0000–U+001F), which no path of ours does. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) <= 0x1f) return true;
  return false;
}

/**
 * A `next` value that is safe to navigate to: a same-app path (`/…`, never `//host` or a scheme),
 * and never the login page itself; anything else becomes `DEFAULT_NEXT`.
 *
 * @example safeNext("/fetch?job=1") // "/fetch?job=1"
 * @example safeNext("https://evil.example/") // "/analysis"
 */
export function safeNext(raw: string | null): string {
  if (raw === null) return DEFAULT_NEXT;
  const next = raw.trim();
  if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return DEFAULT_NEXT;
  if (hasControlCharacter(next)) return DEFAULT_NEXT;
  if (next === "/login" || next.startsWith("/login?") || next.startsWith("/login/")) return DEFAULT_NEXT;
  return next;
}

/** The login page's address, returning to `next` (path + query) after signing in. */
export function loginHref(next: string | null = null): string {
  if (next === null || safeNext(next) !== next) return "/login";
  return `/login?${new URLSearchParams({ next }).toString()}`;
}
