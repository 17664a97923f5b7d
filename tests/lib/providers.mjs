// A gateway in front of sluice-mock speaking every provider format: one Backend per provider
// (and a few variants: bad keys, passthrough), each reachable under /<backend name>/... so
// tests address a provider by prefix, e.g. `${url}/gemini/v1/chat/completions`.
import { routeYaml, startMock, startSluice } from './harness.mjs';

export const AWS = { accessKeyId: 'AKIDMOCKEXAMPLE', secretAccessKey: 'mock-secret-key' };

function backend(name, port, llm, extra = '') {
  return `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    llm:
      ${llm}
      host: 127.0.0.1
      port: ${port}
${extra}`;
}

function secret(name, data) {
  return `apiVersion: v1
kind: Secret
metadata: {name: ${name}}
stringData: ${JSON.stringify(data)}
`;
}

export const BACKENDS = {
  openai: `openai: {authToken: {kind: Inline, inline: sk-gateway}}`,
  'openai-pt': `openai: {authToken: {kind: Passthrough}}`,
  anthropic: `anthropic: {authToken: {kind: Inline, inline: sk-ant-gateway}, defaultMaxTokens: 512}`,
  'anthropic-pt': `anthropic: {authToken: {kind: Passthrough}}`,
  gemini: `gemini: {authToken: {kind: Inline, inline: gemini-key}}`,
  'gemini-badkey': `gemini: {authToken: {kind: Inline, inline: invalid}}`,
  vertex: `vertexai: {authToken: {kind: SecretRef, secretRef: {name: gcp}}, projectId: my-project, location: us-central1}`,
  'vertex-claude': `vertexai: {authToken: {kind: SecretRef, secretRef: {name: gcp}}, projectId: my-project, location: us-east5, publisher: ANTHROPIC}`,
  azure: `azureopenai: {authToken: {kind: Inline, inline: azure-key}, endpoint: res.openai.azure.com, deploymentName: gpt-4o}`,
  'azure-v1': `azureopenai: {authToken: {kind: Inline, inline: azure-key}, endpoint: res.openai.azure.com, apiVersion: v1}`,
  bedrock: `bedrock: {credentials: {secretRef: {name: aws}}, region: us-east-1}`,
  'bedrock-badkey': `bedrock: {credentials: {secretRef: {name: aws-wrong}}, region: us-east-1}`,
};

// Models each chat-capable backend is asked for in the tests.
export const CHAT_MODELS = {
  openai: 'gpt-4o',
  anthropic: 'claude-sonnet-4-5',
  gemini: 'gemini-2.5-flash',
  vertex: 'gemini-2.5-pro',
  'vertex-claude': 'claude-sonnet-4-5',
  azure: 'gpt-4o',
  'azure-v1': 'gpt-4o',
  bedrock: 'anthropic.claude-3-5-sonnet-20241022-v2:0',
};

export async function startProviderGateway({ mockArgs = [] } = {}) {
  const mock = await startMock(mockArgs);
  const passthrough = `    passthrough: {apis: [audio, files, models], paths: ["/v1/echo"]}\n`;
  const docs = [
    secret('gcp', { apiKey: 'ya29.mock-access-token' }),
    secret('aws', AWS),
    secret('aws-wrong', { accessKeyId: AWS.accessKeyId, secretAccessKey: 'not-the-secret' }),
    ...Object.entries(BACKENDS).map(([name, llm]) => backend(name, mock.port, llm, name === 'openai-pt' ? passthrough : '')),
    routeYaml({
      name: 'providers',
      rules: Object.keys(BACKENDS)
        .map(
          (name) => `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: /${name}}}]
    backendRefs: [{name: ${name}}]
`,
        )
        .join(''),
    }),
  ];
  const sluice = await startSluice({ config: docs.join('---\n') });
  return { mock, sluice, url: sluice.url };
}

// Parses an SSE body into [{event, data}] (data JSON-parsed when it is JSON).
export function parseSse(text) {
  const events = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (!block.trim()) continue;
    let event = '';
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    const raw = data.join('\n');
    let parsed = raw;
    try {
      parsed = JSON.parse(raw);
    } catch {
      /* [DONE] and other non-JSON payloads stay text */
    }
    events.push({ event, data: parsed });
  }
  return events;
}
