/** FASTPATH_TEST_VERBOSE=1 prints what the timing tests measured. */
export const note = (text: string): void => {
  if (process.env.FASTPATH_TEST_VERBOSE === '1') console.log(text);
};
