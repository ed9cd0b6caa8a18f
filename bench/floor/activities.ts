/** When the activity began, on this process's clock (the bench starts workflows from the same process). */
// eslint-disable-next-line @typescript-eslint/require-await
export async function started(): Promise<number> {
  return Date.now();
}
