namespace MobileUNet.Data;

/// <summary>A fixed selection of another dataset's samples (e.g. a deterministic train / validation split).</summary>
public sealed class SubsetDataset(ISegmentationDataset inner, IReadOnlyList<int> indices, string label) : ISegmentationDataset
{
    public string Description => $"{inner.Description}, {label} ({indices.Count})";
    public int Count => indices.Count;
    public SegmentationSample Load(int index) => inner.Load(indices[index]);

    /// <summary>Every <paramref name="every"/>-th sample is validation, the rest training; the same on every run.</summary>
    public static (SubsetDataset Train, SubsetDataset Validation) Split(ISegmentationDataset dataset, int every = 10)
    {
        if (dataset.Count < 2) throw new InvalidDataException($"{dataset.Description}: need at least 2 samples to split off a validation set.");
        var val = Enumerable.Range(0, dataset.Count).Where(i => i % every == every / 2 || (dataset.Count < every && i == dataset.Count - 1)).Distinct().ToList();
        var train = Enumerable.Range(0, dataset.Count).Except(val).ToList();
        return (new SubsetDataset(dataset, train, "training split"), new SubsetDataset(dataset, val, "validation split"));
    }
}
