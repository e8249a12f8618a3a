/**
 * `${NAME}` references to environment variables inside config strings, so that secrets never
 * have to be written in the file. `$${NAME}` stands for a literal `${NAME}`.
 */
export type Interpolated = { ok: true; value: string } | { ok: false; message: string; hint: string };

const REFERENCE = /\$\$\{|\$\{([^}]*)\}?/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolate(text: string, env: NodeJS.ProcessEnv): Interpolated {
  let failure: Interpolated | undefined;
  const value = text.replace(REFERENCE, (match: string, name: string | undefined) => {
    if (match === '$${') return '${';
    if (failure !== undefined) return '';
    if (!match.endsWith('}') || name === undefined || !NAME.test(name)) {
      failure = { ok: false, message: `malformed reference '${match}'`, hint: 'write ${NAME} with a variable name of letters, digits and _; $${ for a literal ${' };
      return '';
    }
    const found = env[name];
    if (found === undefined) {
      failure = { ok: false, message: `environment variable ${name} is not set`, hint: `set ${name} in the environment of cloudmirror (e.g. an EnvironmentFile= in the systemd unit)` };
      return '';
    }
    return found;
  });
  return failure ?? { ok: true, value };
}

/** Whether the whole string is one reference, so its value may be read as a number or boolean. */
export const isWholeReference = (text: string): boolean => /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(text);
