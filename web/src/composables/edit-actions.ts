import { ref, shallowRef, type Ref, type ShallowRef } from 'vue';

export interface EditActions<T> {
  saving: Ref<boolean>;
  saved: Ref<boolean>;
  /** What went wrong with the last save or delete, and which of the two it was. */
  error: ShallowRef<unknown>;
  errorTitle: Ref<string>;
  save: (value: T) => Promise<void>;
  remove: () => Promise<void>;
}

/** An editor page's save and delete: their progress, their outcome, and their error under a title saying which. */
export function useEditActions<T>(actions: { save: (value: T) => Promise<void>; remove: () => Promise<void> }): EditActions<T> {
  const saving = ref(false);
  const saved = ref(false);
  const error = shallowRef<unknown>();
  const errorTitle = ref('Not saved');

  async function save(value: T): Promise<void> {
    saving.value = true;
    errorTitle.value = 'Not saved';
    error.value = undefined;
    saved.value = false;
    try {
      await actions.save(value);
      saved.value = true;
    } catch (caught) {
      error.value = caught;
    } finally {
      saving.value = false;
    }
  }

  async function remove(): Promise<void> {
    errorTitle.value = 'Not deleted';
    error.value = undefined;
    try {
      await actions.remove();
    } catch (caught) {
      error.value = caught;
    }
  }

  return { saving, saved, error, errorTitle, save, remove };
}
