/** The customer setup pages live under `/setup` (their own CSP and error pages; see app.factory.ts). */
export function isSetupPath(path: string): boolean {
  return path === '/setup' || path.startsWith('/setup/');
}
