// The `debug` package ships no types; git-command.ts uses only these.
declare module 'debug' {
  interface Debug {
    /** Turns every namespace off and returns what was enabled (`a,b,-c`). */
    disable(): string;
    enable(namespaces: string): void;
  }
  const debug: Debug;
  export default debug;
}
