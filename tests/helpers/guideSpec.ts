// The demo guide's test-score.yaml: what the tests and the benchmarks send as "the guide's spec"
// (`npm run demo` enqueues its own copy, with a shorter sleep).

export interface GuideSpecOptions {
  /** `metadata.name`. @default 'demo-app' */
  appName?: string;
  /** The `sleep` of its one step; the guide's own is 5. @default 5 */
  sleepSeconds?: number;
}

/** test-score.yaml from the demo guide, byte for byte with the defaults. */
export function guideSpecYaml({
  appName = 'demo-app',
  sleepSeconds = 5,
}: GuideSpecOptions = {}): string {
  return `apiVersion: score.dev/v1b1
metadata:
  name: ${appName}

containers:
  web:
    image: nginx:latest

workflow:
  steps:
    - name: simulate-work
      type: bash
      config:
        command: |
          echo "Simulating workflow..."
          sleep ${sleepSeconds}
          echo "Complete!"
`;
}
