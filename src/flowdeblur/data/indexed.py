"""A data-set wrapper whose errors name the failing sample, also from inside a loader worker process."""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset


class SampleError(RuntimeError):
    """Reading or synthesising one sample failed; the message names the split, the index and the data set."""


class IndexedErrors(Dataset):
    """``dataset`` unchanged, except that an exception in ``dataset[index]`` is re-raised as :class:`SampleError`
    naming ``split`` and ``index`` (the original error chained). Other attributes pass through to ``dataset``."""

    def __init__(self, dataset: Dataset, split: str) -> None:
        self.dataset = dataset
        self.split = split

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        try:
            return self.dataset[index]
        except IndexError:  # out of range: the sequence protocol, not a broken sample
            raise
        except Exception as err:
            raise SampleError(
                f"data.{self.split}: sample {index} of {type(self.dataset).__name__} failed: "
                f"{type(err).__name__}: {err}"
            ) from err

    def __getattr__(self, name: str) -> Any:
        if name in ("dataset", "split") or name.startswith("__"):  # not yet set while unpickling in a worker
            raise AttributeError(name)
        return getattr(self.dataset, name)
