using System.Text.Json;
using System.Text.Json.Nodes;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Platform;
using TorchSharp;
using MobileUNet.Data;

namespace MobileUNet.Training;

/// <summary>One epoch's line in the training log.</summary>
public sealed record EpochMetrics(int Epoch, long Steps, double LearningRate, double TrainLoss, double TrainBce, double TrainDice,
                                  double ValidationLoss, double ValidationIoU, double ValidationDice, double ImagesPerSecond, double Seconds);

/// <summary>
/// What a resume needs besides the weights: the finished epoch, its optimizer-state file, the history and the
/// best IoU so far. The data stream and augmentation are pure functions of (seed, sample index), and torch's
/// generator is only used to initialise the weights, so "RNG state" is the seed plus the sample counter.
/// </summary>
internal sealed record TrainingState(int Epoch, long GlobalStep, long SamplesSeen, long Seed, string OptimizerFile,
                                   double BestIoU, int BestEpoch, IReadOnlyList<EpochMetrics> History, TrainOptions Options);

/// <summary>
/// Run-folder layout: <c>last.munet</c> (weights + normalisation + <see cref="TrainingState"/> in the header),
/// <c>optimizer-epochNNNN.bin</c> (its optimizer state), <c>best.munet</c>. Each file is written atomically and
/// <c>last.munet</c> last, so after a kill -9 the newest <c>last.munet</c> always names an optimizer file that exists.
/// </summary>
internal static class Checkpoint
{
    public const string Last = "last.munet", Best = "best.munet";
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static JsonObject Extra(Normalization normalization, TrainingState? state)
    {
        var extra = new JsonObject { [SegmenterFactory.NormalizationKey] = normalization.ToJson() };
        if (state is not null) extra["training"] = JsonSerializer.SerializeToNode(state, Json);
        return extra;
    }

    public static void Save(string runDir, Model.MobileUNet model, TorchSharp.Modules.OptimizerHelper optimizer, Normalization normalization, TrainingState state, bool isBest)
    {
        var optimizerPath = Path.Combine(runDir, state.OptimizerFile);
        AtomicFile.Write(optimizerPath, s =>
        {
            using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
            optimizer.save_state_dict(w);
        });
        var extra = Extra(normalization, state);
        if (isBest) WeightsFile.Save(model, Path.Combine(runDir, Best), (JsonObject)extra.DeepClone());
        WeightsFile.Save(model, Path.Combine(runDir, Last), extra);
        foreach (var old in Directory.EnumerateFiles(runDir, "optimizer-epoch*.bin"))
            if (Path.GetFileName(old) != state.OptimizerFile) File.Delete(old);
    }

    public static TrainingState ReadState(string weightsPath)
    {
        var header = WeightsFormat.ReadHeader(weightsPath);
        var node = header.Extra?["training"] ?? throw new InvalidDataException($"{weightsPath}: no training state (not a training checkpoint).");
        return node.Deserialize<TrainingState>(Json) ?? throw new InvalidDataException($"{weightsPath}: empty training state.");
    }

    public static void LoadOptimizer(TorchSharp.Modules.OptimizerHelper optimizer, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: optimizer state missing (cannot resume).", path);
        try
        {
            using var r = new BinaryReader(File.OpenRead(path));
            optimizer.load_state_dict(r);
        }
        catch (Exception e) when (e is not FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: unreadable optimizer state ({e.Message}).");
        }
    }

    /// <summary>The normalisation a weights file records (ImageNet when it records none).</summary>
    public static Normalization NormalizationOf(WeightsHeader header) => SegmenterFactory.NormalizationOf(header.Extra);
}
