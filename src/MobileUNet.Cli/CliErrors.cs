using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli;

/// <summary>Every failure surfaces as one line on stderr and a non-zero exit; --verbose adds the stack trace.</summary>
public static class CliErrors
{
    public static int Run(ICommandApp app, string[] args)
    {
        bool verbose = args.Contains("--verbose");
        try
        {
            return app.Run(args.Where(a => a != "--verbose").ToArray());
        }
        catch (Exception e)
        {
            var inner = e is CommandRuntimeException or CommandParseException ? e : Unwrap(e);
            Console.Error.WriteLine($"error: {OneLine(inner)}");
            if (verbose) Console.Error.WriteLine(inner);
            return inner is CommandParseException or CommandRuntimeException or ArgumentException ? 2 : 1;
        }
    }

    // ArgumentException appends " (Parameter 'x')" to its message; the message already names the option.
    static string OneLine(Exception e)
    {
        var message = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
        return message.ReplaceLineEndings(" ");
    }

    static Exception Unwrap(Exception e) =>
        e is AggregateException or System.Reflection.TargetInvocationException or TypeInitializationException && e.InnerException is not null
            ? Unwrap(e.InnerException!)
            : e;
}
