/**
 * Preloaded into benchmarked cloudmirror processes (`node --import bench/loopback-only.ts …`):
 * any socket to a host other than 127.0.0.1 / localhost / ::1 is refused before a name is resolved,
 * with a line on stderr that the benchmark looks for. It costs one check per new connection.
 */
import { refuseNonLoopbackConnections } from '../test/harness/gcs-emulator-guard.ts';

refuseNonLoopbackConnections();
