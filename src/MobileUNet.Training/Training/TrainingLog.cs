using System.Globalization;
using System.Text;
using System.Text.Json;
using MobileUNet.Platform;

namespace MobileUNet.Training;

/// <summary>The run's metrics as files: <c>metrics.csv</c>, <c>metrics.json</c> and <c>metrics.png</c> (loss and
/// IoU per epoch), all redrawn from the history records after every epoch.</summary>
internal static class TrainingLog
{
    public const string Csv = "metrics.csv", JsonFile = "metrics.json", Chart = "metrics.png";
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static void Write(string runDir, IReadOnlyList<EpochMetrics> history)
    {
        var csv = new StringBuilder("epoch,steps,learning_rate,train_loss,train_bce,train_dice,val_loss,val_iou,val_dice,images_per_second,seconds\n");
        foreach (var m in history)
            csv.AppendLine(string.Join(",", new object[] { m.Epoch, m.Steps, m.LearningRate, m.TrainLoss, m.TrainBce, m.TrainDice,
                m.ValidationLoss, m.ValidationIoU, m.ValidationDice, m.ImagesPerSecond, m.Seconds }
                .Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        AtomicFile.WriteAllBytes(Path.Combine(runDir, Csv), Encoding.UTF8.GetBytes(csv.ToString()));
        AtomicFile.WriteAllBytes(Path.Combine(runDir, JsonFile), JsonSerializer.SerializeToUtf8Bytes(history, Json));
        if (history.Count > 0) AtomicFile.WriteAllBytes(Path.Combine(runDir, Chart), DrawChart(history));
    }

    public static byte[] DrawChart(IReadOnlyList<EpochMetrics> history)
    {
        var plot = new ScottPlot.Plot();
        double[] epochs = [.. history.Select(m => (double)m.Epoch)];
        var train = plot.Add.Scatter(epochs, [.. history.Select(m => m.TrainLoss)]);
        train.LegendText = "train loss (BCE + 1 - Dice)";
        var val = plot.Add.Scatter(epochs, [.. history.Select(m => m.ValidationLoss)]);
        val.LegendText = "validation loss";
        var iou = plot.Add.Scatter(epochs, [.. history.Select(m => m.ValidationIoU)]);
        iou.LegendText = "validation IoU";
        iou.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Right.Label.Text = "IoU";
        plot.Axes.Left.Label.Text = "loss";
        plot.Axes.Bottom.Label.Text = "epoch";
        plot.Axes.SetLimitsY(0, 1, plot.Axes.Right);
        plot.Title("MobileUNet training");
        plot.ShowLegend(ScottPlot.Alignment.MiddleRight);
        return plot.GetImageBytes(800, 500, ScottPlot.ImageFormat.Png);
    }
}
