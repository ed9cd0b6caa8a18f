import { ref, watch, type Ref } from 'vue';

/**
 * An editor's working copy of a form: a copy of `initial` (taken again whenever the page hands a
 * new one), and a submit that converts it, keeping the problems to show or passing the value on.
 */
export function useDraft<Form extends object, Value>(
  initial: () => Form,
  convert: (form: Form) => { value?: Value; problems: string[] },
  onValid: (value: Value) => void,
): { form: Ref<Form>; problems: Ref<string[]>; submit: () => void } {
  const form = ref({ ...initial() }) as Ref<Form>;
  const problems = ref<string[]>([]);
  watch(initial, (next) => (form.value = { ...next }));
  function submit(): void {
    const { value, problems: found } = convert(form.value);
    problems.value = found;
    if (value !== undefined) onValid(value);
  }
  return { form, problems, submit };
}
