import { KVError, redactUrl } from "@kv/core";

export { redactUrl };

/** One `host[:port]` of a KV URL. */
export interface KVUrlHost {
  readonly host: string;
  /** `undefined` when the URL gives none: the backend's default applies. */
  readonly port: number | undefined;
}

/**
 * A parsed KV URL: `scheme://[user[:password]@]host[:port][,host[:port]…][/path][?query]`.
 *
 * WHATWG `URL` cannot parse the cluster form (`redis-cluster://h1:7000,h2:7001`), so KV
 * URLs have this small parser of their own. Userinfo is percent-decoded; `redacted` is
 * the text to show anyone (errors, logs): it never contains the password.
 */
export interface KVUrl {
  /** The scheme, lower-cased, without `:` or `//`: `"memory"`, `"redis"`, … */
  readonly scheme: string;
  readonly username: string;
  /** `""` when none. Never put it in a message: use `redacted`. */
  readonly password: string;
  /** The hosts in order; empty for `memory://`. */
  readonly hosts: readonly KVUrlHost[];
  /** What follows the hosts up to the query, e.g. `"/2"`; `""` when none. */
  readonly path: string;
  readonly params: URLSearchParams;
  /** The URL as given, with the password (and secret-looking query values) replaced by `***`. */
  readonly redacted: string;
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/**
 * A KV_INVALID_ARGUMENT error: `createKV: what (got [part in] "url")`, the URL redacted.
 * `part` is the offending piece, already rendered for the message.
 */
export function urlError(url: string | KVUrl, what: string, part?: string): KVError {
  const shown = JSON.stringify(typeof url === "string" ? redactUrl(url) : url.redacted);
  return new KVError(
    "KV_INVALID_ARGUMENT",
    `createKV: ${what} (got ${part === undefined ? "" : `${part} in `}${shown})`,
  );
}

function decode(part: string, text: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw urlError(text, `the ${what} in the URL is not valid percent-encoding`);
  }
}

function parseHost(part: string, text: string): KVUrlHost {
  // `[::1]:6379`: an IPv6 address keeps its brackets out of the host name.
  const match = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(part);
  if (match === null || match[1] === "") {
    // The part itself is not shown: with an unencoded "/" in a password, the "host"
    // here is a piece of the userinfo.
    throw urlError(
      text,
      "each host must be host or host:port, with / @ : in a user name or password percent-encoded",
    );
  }
  const host = match[1]!.startsWith("[") ? match[1]!.slice(1, -1) : match[1]!;
  const portText = match[2];
  if (portText === undefined || portText === "") return { host, port: undefined };
  const port = Number(portText);
  if (!/^[0-9]{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw urlError(text, "a port must be an integer from 1 to 65535");
  }
  return { host, port };
}

/** Parses a KV URL. Throws KV_INVALID_ARGUMENT, never showing the password. */
export function parseKVUrl(text: string): KVUrl {
  const scheme = SCHEME.exec(text);
  if (scheme === null) {
    throw urlError(
      text,
      "a KV URL starts with a scheme and :// (for example memory:// or redis://host:6379)",
    );
  }
  const rest = text.slice(scheme[0].length);
  const hashAt = rest.indexOf("#");
  const withoutHash = hashAt === -1 ? rest : rest.slice(0, hashAt);
  const queryAt = withoutHash.indexOf("?");
  const beforeQuery = queryAt === -1 ? withoutHash : withoutHash.slice(0, queryAt);
  const query = queryAt === -1 ? "" : withoutHash.slice(queryAt + 1);

  const slash = beforeQuery.indexOf("/");
  const authority = slash === -1 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash === -1 ? "" : beforeQuery.slice(slash);

  const at = authority.lastIndexOf("@");
  const userinfo = at === -1 ? "" : authority.slice(0, at);
  const hostList = at === -1 ? authority : authority.slice(at + 1);
  const colon = userinfo.indexOf(":");
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), text, "user name");
  const password = colon === -1 ? "" : decode(userinfo.slice(colon + 1), text, "password");

  const hosts = hostList === "" ? [] : hostList.split(",").map((part) => parseHost(part, text));
  return {
    scheme: scheme[1]!.toLowerCase(),
    username,
    password,
    hosts,
    path,
    params: new URLSearchParams(query),
    redacted: redactUrl(text),
  };
}
