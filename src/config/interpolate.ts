/**
 * References to environment variables inside config strings, so that secrets never have to be
 * written in the file, with docker-compose's forms:
 *
 *   ${NAME}            the variable's value; unset is a problem (a warning for `config validate`)
 *   ${NAME:-default}   the default when NAME is unset or empty
 *   ${NAME-default}    the default when NAME is unset
 *   ${NAME:?message}   NAME must be set and not empty, else `message` is the problem
 *   ${NAME?message}    NAME must be set, else `message` is the problem
 *   $$                 a literal $
 *
 * A bare `$NAME` is refused rather than kept as text: it looks like a reference and would
 * silently not be one.
 */
export type Interpolated =
  | { ok: true; value: string }
  | { ok: false; message: string; hint: string; /** Only a variable is unset: the file itself is fine. */ unset: boolean };

const REFERENCE = /\$\$|\$\{([^}]*)\}?|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const FORM = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])(.*))?$/s;

export function interpolate(text: string, env: NodeJS.ProcessEnv): Interpolated {
  let failure: Interpolated | undefined;
  const fail = (problem: Exclude<Interpolated, { ok: true }>): string => {
    failure ??= problem;
    return '';
  };
  const value = text.replace(REFERENCE, (match: string, inner: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    if (bare !== undefined) return fail({ ok: false, unset: false, message: `'${match}' is not a reference`, hint: `write \${${bare}} for the variable, or $$ for a literal $` });
    const form = match.endsWith('}') && inner !== undefined ? FORM.exec(inner) : null;
    if (form === null) return fail({ ok: false, unset: false, message: `malformed reference '${match}'`, hint: 'write ${NAME}, ${NAME:-default} or ${NAME:?message} with a variable name of letters, digits and _; $$ for a literal $' });
    const [, name = '', colon, operator, argument = ''] = form;
    const found = env[name];
    const missing = found === undefined || (colon === ':' && found === '');
    if (!missing) return found;
    if (operator === '-') return argument;
    const how = found === undefined ? 'is not set' : 'is empty';
    if (operator === '?') return fail({ ok: false, unset: true, message: `environment variable ${name} ${how}${argument === '' ? '' : `: ${argument}`}`, hint: `set ${name} in the environment of cloudmirror (e.g. an EnvironmentFile= in the systemd unit)` });
    return fail({ ok: false, unset: true, message: `environment variable ${name} is not set`, hint: `set ${name} in the environment of cloudmirror (e.g. an EnvironmentFile= in the systemd unit), or give a default: \${${name}:-value}` });
  });
  return failure ?? { ok: true, value };
}

/** Whether the whole string is one reference, so its value may be read as a number or boolean. */
export const isWholeReference = (text: string): boolean => /^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}$/.test(text);
