// Placeholder until the shared emulators are wired in: tests start what they need themselves.
export default function setup(): void {}
