/**
 * Proton's address transforms for `route()` and `rewrite()`: an ordered list of (pattern,
 * substitution) rules, first match wins. In a pattern `*` matches any text and `%` any text
 * without `/`; both match as much as they can (backtracking when the rest fails), and each is a
 * numbered group. In a substitution `$1`..`$9` (and further digits) insert groups, `$0` the whole
 * address, `$$` a `$`; a group that does not exist inserts nothing.
 *
 * A Router holds the Messenger's two lists: routes pick the broker and node an address goes to,
 * rewrites the address a message carries (by default, the address without `user:password@`).
 */
import { AddressError, type AddressNode, ArgumentError, parseAddress } from '../core.js';
import { withoutCredentials } from './copy.js';

interface Rule {
  readonly pattern: string;
  readonly regex: RegExp;
  readonly substitution: string;
}

function compile(pattern: string): RegExp {
  let src = '';
  for (const c of pattern) {
    if (c === '*') src += '(.*)';
    else if (c === '%') src += '([^/]*)';
    else src += c.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 's');
}

function substitute(substitution: string, groups: RegExpExecArray): string {
  return substitution.replace(/\$(\$|\d+)/g, (_m, g: string) => (g === '$' ? '$' : (groups[Number(g)] ?? '')));
}

/** The result of applying a transform. */
export interface Transformed {
  /** True when a rule matched. */
  readonly matched: boolean;
  /** The substituted address, or the input when no rule matched. */
  readonly address: string;
}

/** An ordered list of rules (see the file header). */
export class Transform {
  private readonly rules: Rule[] = [];

  /** Appends a rule. @throws ArgumentError unless both are strings. */
  add(pattern: string, substitution: string, what: string): void {
    if (typeof pattern !== 'string' || typeof substitution !== 'string') {
      throw new ArgumentError(`${what}: the pattern and the address must be strings`);
    }
    this.rules.push({ pattern, regex: compile(pattern), substitution });
  }

  /** Applies the first matching rule to `address`. */
  apply(address: string): Transformed {
    for (const r of this.rules) {
      const m = r.regex.exec(address);
      if (m) return { matched: true, address: substitute(r.substitution, m) };
    }
    return { matched: false, address };
  }

  /** The rules, in order, as `[pattern, substitution]`. */
  list(): Array<readonly [string, string]> {
    return this.rules.map((r) => [r.pattern, r.substitution] as const);
  }
}

/** The Messenger's route and rewrite rules (see the file header). */
export class Router {
  /** `route()` rules. */
  readonly routes = new Transform();
  /** `rewrite()` rules. */
  readonly rewrites = new Transform();

  /**
   * The broker and node `address` designates after routing.
   * @throws AddressError for an address that is not a string, does not parse, or names no broker or no node.
   */
  resolve(address: string, what: string): { url: string; node: AddressNode } {
    if (typeof address !== 'string') throw new AddressError(`Messenger.${what}: an address must be a string, got ${typeof address}`);
    const routed = this.routes.apply(address).address;
    const p = parseAddress(routed);
    const via = routed === address ? '' : ` (routed to ${JSON.stringify(routed)})`;
    if (p.url === undefined) {
      throw new AddressError(
        `Messenger.${what}: address ${JSON.stringify(address)}${via} names no broker: write amqp[s]://host[:port]/name, or add a route()`,
      );
    }
    if (p.node === null) throw new AddressError(`Messenger.${what}: address ${JSON.stringify(address)}${via} names no queue or exchange`);
    return { url: p.url, node: p.node };
  }

  /** The address a message to `address` carries: rewritten by the first matching rule, else without credentials. */
  carried(address: string): string {
    const r = this.rewrites.apply(address);
    return r.matched ? r.address : withoutCredentials(address);
  }
}
