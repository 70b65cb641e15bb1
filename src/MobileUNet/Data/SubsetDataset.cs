namespace MobileUNet.Data;

/// <summary>A fixed selection of another dataset's samples (e.g. a deterministic train / validation split).</summary>
public sealed class SubsetDataset(ISegmentationDataset inner, IReadOnlyList<int> indices, string label) : ISegmentationDataset
{
    public string Description => $"{inner.Description}, {label} ({indices.Count})";
    public int Count => indices.Count;
    public SegmentationSample Load(int index) => inner.Load(indices[index]);

    /// <summary>
    /// Every <paramref name="every"/>-th group (in dataset order) is validation, the rest training; the same on
    /// every run. Groups (<see cref="ISegmentationDataset.GroupOf"/>) never straddle the split, so one person's
    /// photos are all on one side; with one sample per group this is every <paramref name="every"/>-th sample.
    /// </summary>
    public static (SubsetDataset Train, SubsetDataset Validation) Split(ISegmentationDataset dataset, int every = 10)
    {
        if (dataset.Count < 2) throw new InvalidDataException($"{dataset.Description}: need at least 2 samples to split off a validation set.");
        var groups = new List<string>();
        var groupIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var sampleGroup = new int[dataset.Count];
        for (int i = 0; i < dataset.Count; i++)
        {
            var key = dataset.GroupOf(i);
            if (!groupIndex.TryGetValue(key, out var g)) { g = groups.Count; groupIndex[key] = g; groups.Add(key); }
            sampleGroup[i] = g;
        }
        if (groups.Count < 2) throw new InvalidDataException($"{dataset.Description}: all samples belong to one group ({groups[0]}); cannot split by group.");
        bool IsValidation(int g) => g % every == every / 2 || (groups.Count < every && g == groups.Count - 1);
        var val = Enumerable.Range(0, dataset.Count).Where(i => IsValidation(sampleGroup[i])).ToList();
        var train = Enumerable.Range(0, dataset.Count).Where(i => !IsValidation(sampleGroup[i])).ToList();
        return (new SubsetDataset(dataset, train, "training split"), new SubsetDataset(dataset, val, "validation split"));
    }

    public string GroupOf(int index) => inner.GroupOf(indices[index]);
}
