using System.Text.Json;
using MobileUNet.Model;
using MobileUNet.Platform;

namespace MobileUNet.Evaluation;

/// <summary>
/// Accuracy of one trained configuration on a validation set: what `mobileunet sweep` writes, one record per
/// grid config. <see cref="Iou"/> is the foreground IoU in [0, 1]; the rest is context.
/// </summary>
public sealed record AccuracyRecord(ModelSpec Spec, double Iou, double? Dice = null, string? Weights = null);

/// <summary>An accuracy sweep's results (schema 1).</summary>
public sealed record AccuracyDocument(int SchemaVersion, string? Dataset, IReadOnlyList<AccuracyRecord> Results)
{
    public const int CurrentSchema = 1;

    public string ToJson() => JsonSerializer.Serialize(this, RecordJson.Options);

    public void Save(string path) => AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(ToJson()));

    public static AccuracyDocument Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such accuracy file.");
        AccuracyDocument? doc;
        try { doc = JsonSerializer.Deserialize<AccuracyDocument>(File.ReadAllText(path), RecordJson.Options); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not an accuracy document ({e.Message})."); }
        if (doc?.Results is null) throw new InvalidDataException($"{path}: not an accuracy document (no results).");
        if (doc.SchemaVersion != CurrentSchema) throw new InvalidDataException($"{path}: accuracy schema {doc.SchemaVersion}, this build reads {CurrentSchema}.");
        foreach (var r in doc.Results)
            if (r.Spec is null || !(r.Iou is >= 0 and <= 1)) throw new InvalidDataException($"{path}: every result needs a spec and an IoU in [0, 1].");
        return doc;
    }
}
