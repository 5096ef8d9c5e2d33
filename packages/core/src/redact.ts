/**
 * Redaction of connection URLs, for every message and log line that shows one: SPEC.md
 * "a connection URL in a message never shows its password". One implementation for
 * every package that parses URLs (@kv/redis, @kv/context, adapters).
 */
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
// Query parameters whose values are hidden in messages as well: a URL is often built
// by string concatenation, and a token in it is as secret as a password.
export const SECRET_PARAM = /pass|secret|token|auth|credential/i;

/**
 * Where the userinfo of `text` ends (the index of its `@`), or -1. Conservative, for
 * redaction: the last `@` before the query, so a password holding an unencoded `/` or
 * `@` counts as userinfo; failing that, a later `@` with no `=` before it, so does one
 * holding an unencoded `?` or `#` (a query's `@` comes after a `name=`).
 */
function userinfoEnd(text: string, start: number): number {
  const query = text.slice(start).search(/[?#]/);
  const head = query === -1 ? text : text.slice(0, start + query);
  const at = head.lastIndexOf("@");
  if (at >= start) return at;
  const later = text.lastIndexOf("@");
  return later >= start && !text.slice(start, later).includes("=") ? later : -1;
}

/**
 * `text` with every secret replaced by `***`: the password, and the values of query
 * parameters whose name looks secret. It works on text that does not parse, which is
 * when it is needed most.
 */
export function redactUrl(text: string): string {
  const start = SCHEME.exec(text)?.[0].length ?? 0;
  const at = userinfoEnd(text, start);
  const userinfo = at === -1 ? "" : text.slice(start, at);
  const colon = userinfo.indexOf(":");
  const safeUserinfo = colon === -1 ? userinfo : `${userinfo.slice(0, colon)}:***`;
  const rest = at === -1 ? text.slice(start) : text.slice(at);
  const query = rest.search(/[?#]/);
  const safeRest =
    query === -1
      ? rest
      : rest.slice(0, query) +
        rest
          .slice(query)
          .replace(/([?&])([^=&#]*)=([^&#]*)/g, (whole, sep: string, name: string) =>
            SECRET_PARAM.test(name) ? `${sep}${name}=***` : whole,
          );
  return text.slice(0, start) + safeUserinfo + safeRest;
}
