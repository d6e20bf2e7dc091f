import createDebug from 'debug';
import type { SimpleGitOptions } from 'simple-git';

// simple-git's debug output (DEBUG=simple-git* or DEBUG=*) prints each child's environment, token included:
// it stays off whatever DEBUG says. Runs once, when runGit is first imported; other namespaces are untouched.
const debugNamespaces = createDebug.disable();
if (debugNamespaces) createDebug.enable(`${debugNamespaces},-simple-git*`);

/**
 * simple-git's argv/env guards, all off. They would refuse what runGit must pass (GIT_CONFIG_COUNT,
 * credential.helper=, GIT_ASKPASS=, --git-dir) and, matching config keys by substring, a legitimate remote
 * (`http.https://pager.example.com/.extraHeader` reads as a pager setting). Callers validate their arguments.
 */
export const UNSAFE: Required<NonNullable<SimpleGitOptions['unsafe']>> = {
  allowUnsafeAlias: true,
  allowUnsafeAskPass: true,
  allowUnsafeCommandBinaries: true,
  allowUnsafeConfigPaths: true,
  allowUnsafeConfigEnvCount: true,
  allowUnsafeCredentialHelper: true,
  allowUnsafeEditor: true,
  allowUnsafeMergeDriver: true,
  allowUnsafePager: true,
  allowUnsafeProtocolOverride: true,
  allowUnsafePack: true,
  allowUnsafeSshCommand: true,
  allowUnsafeGitProxy: true,
  allowUnsafeExec: true,
  allowUnsafeHooksPath: true,
  allowUnsafeDiffExternal: true,
  allowUnsafeDiffTextConv: true,
  allowUnsafeFilter: true,
  allowUnsafeFsMonitor: true,
  allowUnsafeGpgProgram: true,
  allowUnsafeTemplateDir: true,
  allowUnsafeInclude: true,
  allowUnsafeSubmodule: true,
  allowUnsafeUrlRewrite: true,
  allowUnsafeCustomBinary: false,
  allowAbbreviatedOptions: true, // git's own default
};
