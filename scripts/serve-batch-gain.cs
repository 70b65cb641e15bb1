#:project ../src/MobileUNet/MobileUNet.csproj
#:property TreatWarningsAsErrors=false
#:property PublishAot=false
#:property JsonSerializerIsReflectionEnabledByDefault=true
// The inference stage alone, batched against one at a time: the model call that `serve` micro-batches, timed
// with nothing else running in the process (same session options as serve: ORT threads, spinning off).
//   dotnet run scripts/serve-batch-gain.cs -- [threads=2] [batch=8] [rounds=5] [model=models/person.onnx]
// The model is an ONNX file (the shipped person model's export by default, what `serve` runs): this script references
// the inference library only, which runs exports, not untrained weights.
using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

int threads = args.Length > 0 ? int.Parse(args[0]) : 2, batch = args.Length > 1 ? int.Parse(args[1]) : 8, rounds = args.Length > 2 ? int.Parse(args[2]) : 5;
var modelPath = args.Length > 3 ? args[3] : "models/person.onnx";
var onnx = File.ReadAllBytes(modelPath);
using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
using var session = new InferenceSession(onnx, options);
string inName = session.InputNames[0], outName = session.OutputNames[0];
int S = session.InputMetadata[inName].Dimensions[2]; // NCHW, square: our exports' input size
var input = new float[batch * 3 * S * S];
for (int i = 0; i < input.Length; i++) input[i] = (i % 97) / 97f - 0.5f;
var output = new float[batch * S * S];

double ImagesPerSecond(int n, int images)
{
    using var x = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, n * 3 * S * S), [n, 3, S, S]);
    using var y = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, output.AsMemory(0, n * S * S), [n, 1, S, S]);
    using var run = new RunOptions();
    session.Run(run, [inName], [x], [outName], [y]); // warm this shape
    var watch = Stopwatch.StartNew();
    for (int done = 0; done < images; done += n) session.Run(run, [inName], [x], [outName], [y]);
    return images / watch.Elapsed.TotalSeconds;
}

var one = new List<double>();
var many = new List<double>();
for (int r = 0; r < rounds; r++) // interleaved, so drift in the machine's load hits both alike
{
    one.Add(ImagesPerSecond(1, 16 * batch));
    many.Add(ImagesPerSecond(batch, 16 * batch));
}
double m1 = one.Order().ElementAt(rounds / 2), mb = many.Order().ElementAt(rounds / 2);
Console.WriteLine($"{modelPath} ({S}x{S} input), ORT threads {threads}, spinning off, median of {rounds} interleaved rounds:");
Console.WriteLine($"  batch 1: {m1:0} images/s ({1000 / m1:0.00} ms/image)");
Console.WriteLine($"  batch {batch}: {mb:0} images/s ({1000 / mb:0.00} ms/image)  gain {mb / m1:0.00}x");
