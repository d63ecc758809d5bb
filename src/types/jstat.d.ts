/** The one jStat function Switchyard uses; the package (CommonJS) ships no type declarations. */
declare module 'jstat' {
  const jstat: {
    jStat: {
      chisquare: {
        /** P(X ≤ x) for a chi-square variable with `dof` degrees of freedom. */
        cdf(x: number, dof: number): number;
      };
    };
  };
  export default jstat;
}
