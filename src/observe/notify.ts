import { spawn } from 'node:child_process';
import { basicAuthOf, redactUrlsIn } from '../../adapters/redact-url.ts';
import { messageOf } from '../errors.ts';
import type { Log } from '../logger.ts';

export interface NotifySettings {
  readonly webhook: string | undefined;
  readonly command: string | undefined;
}

/**
 * failure / recovery: a destination of a job started failing / succeeds again.
 * differences / identical: a verify job found differences between a destination and the source /
 * finds none any more (a verify job that cannot compare at all is a failure).
 */
export type NotifyEventName = 'failure' | 'recovery' | 'differences' | 'identical';

export interface NotifyEvent {
  readonly event: NotifyEventName;
  readonly job: string;
  readonly destination: string;
  /** The failure's message, or the differences found; '' on recovery and identical. */
  readonly error: string;
  readonly time: string;
}

const WEBHOOK_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 60_000;

/**
 * Tells people when a job's destination starts failing and when it recovers, once per change of
 * state, not on every failing run: a destination down for a day must not page every 5 minutes.
 * A notification that cannot be delivered is logged and never affects the jobs.
 */
export class Notifier {
  #settings: NotifySettings;
  readonly #log: Log;
  /** What is wrong per job destination now, and which event announced it. */
  readonly #failing = new Map<string, 'failure' | 'differences'>();
  readonly #pending = new Set<Promise<void>>();

  constructor(settings: NotifySettings, log: Log) {
    this.#settings = settings;
    this.#log = log;
  }

  set settings(value: NotifySettings) {
    this.#settings = value;
  }

  /**
   * The outcome of one run for one destination: an error message, or undefined when it
   * succeeded. `kind` says what the message is: a failure, or the differences a verify job found.
   * A change of kind is news too (a verification that failed and now finds differences).
   */
  outcome(job: string, destination: string, error: string | undefined, kind: 'failure' | 'differences' = 'failure'): void {
    const id = `${job}\u0000${destination}`;
    const was = this.#failing.get(id);
    if (error !== undefined) {
      this.#failing.set(id, kind);
      if (was !== kind) this.#send({ event: kind, job, destination, error, time: new Date().toISOString() });
    } else if (was !== undefined) {
      this.#failing.delete(id);
      this.#send({ event: was === 'failure' ? 'recovery' : 'identical', job, destination, error: '', time: new Date().toISOString() });
    }
  }

  /** Waits for notifications under way (at shutdown). */
  async settle(): Promise<void> {
    await Promise.all(this.#pending);
  }

  #send(event: NotifyEvent): void {
    const { webhook, command } = this.#settings;
    this.#log.info({ ...event }, `notify: ${event.job} → ${event.destination}: ${event.event}`);
    // Whatever the failure says (an error may quote the URL it was given), no secret of the URL is logged.
    if (webhook !== undefined) this.#track(postWebhook(webhook, event).catch((error: unknown) => this.#log.warn({ webhook: webhookForLog(webhook), error: redactUrlsIn(messageOf(error)) }, 'notify: webhook failed')));
    if (command !== undefined) this.#track(runCommand(command, event).catch((error: unknown) => this.#log.warn({ error: redactUrlsIn(messageOf(error)) }, 'notify: command failed')));
  }

  #track(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }
}

async function postWebhook(webhook: string, event: NotifyEvent): Promise<void> {
  // `https://user:password@host/…` is how users write Basic auth; fetch refuses it in the URL.
  const { url, authorization } = basicAuthOf(webhook);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: JSON.stringify(event),
    signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
  });
  // The body is not ours to read; drain it so the connection can be reused.
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
}

/** Runs the command through /bin/sh, so it may be a pipeline; the event goes in its environment. */
function runCommand(command: string, event: NotifyEvent): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...process.env, EVENT: event.event, JOB: event.job, DESTINATION: event.destination, ERROR: event.error },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: COMMAND_TIMEOUT_MS,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-500)));
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`exited with ${signal ?? code}${stderr === '' ? '' : `: ${stderr.trim()}`}`))));
  });
}

/** A webhook's path is often its secret too (Slack's /services/T…/B…/token): log only its origin. */
function webhookForLog(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
