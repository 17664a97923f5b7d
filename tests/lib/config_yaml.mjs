// YAML pieces the integration tests compose their configurations from: an AI Backend with one
// provider (its `llm` line given whole, so any provider and its credentials can be expressed), a
// Static Backend, and an HTTPRoute rule matching the path prefix /<name>. Each Backend ends with
// the `---` separator; rules are list items for `spec.rules`.

export const aiBackend = (name, llm, port) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    llm:
      ${llm}
      host: 127.0.0.1
      port: ${port}
---
`;

export const staticBackend = (name, port) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec: {type: Static, static: {hosts: [{host: 127.0.0.1, port: ${port}}]}}
---
`;

export const prefixRule = (name, to) => `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: /${name}}}]
    backendRefs: [{name: ${to}}]
`;
